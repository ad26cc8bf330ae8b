"""Tests of analysis.keywords and analysis.plots.keywords on the seed and on constructed tables."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import opencc
import pandas as pd
import pytest

matplotlib.use("Agg")

from analysis import config, keywords, tokens  # noqa: E402
from analysis.cli import main  # noqa: E402
from analysis.plots import apply_style  # noqa: E402
from analysis.plots.keywords import plot_keyness, plot_keyword_heatmap, plot_keyword_trends, top_terms_by_docs  # noqa: E402
from conftest import SEED, seed_policies, write_policies  # noqa: E402

T2S = opencc.OpenCC("t2s")


@pytest.fixture(scope="module")
def by_year(seed: pd.DataFrame, seed_tokens: pd.DataFrame) -> pd.DataFrame:
    return keywords.keyword_by_year(seed_tokens, seed)


def test_keyword_by_year_counts_match_a_hand_recount(seed: pd.DataFrame, seed_tokens: pd.DataFrame, by_year: pd.DataFrame) -> None:
    years = dict(zip(seed["policy_id"], seed["year"], strict=True))
    kw = seed_tokens[seed_tokens["keyword"]]
    for term in ("雲計算", "電子政務", "互聯網+政務服務"):
        rows = kw[kw["token"] == term]
        for year in sorted(seed["year"].unique()):
            in_year = rows[rows["policy_id"].map(years) == year]
            got = by_year[(by_year["term"] == term) & (by_year["year"] == year)]
            if in_year.empty:
                assert got.empty
                continue
            n_pol = int((seed["year"] == year).sum())
            n_tok = int((kw["policy_id"].map(years) == year).sum())
            assert got["count"].item() == len(in_year)
            assert got["docs"].item() == in_year["policy_id"].nunique()
            assert got["policies_in_year"].item() == n_pol
            assert got["share_of_policies"].item() == pytest.approx(in_year["policy_id"].nunique() / n_pol)
            assert got["per_10k_tokens"].item() == pytest.approx(len(in_year) * 10_000 / n_tok)
    assert not by_year.duplicated(["term", "year"]).any()


def test_simplified_copy_of_the_seed_gives_the_same_counts(by_year: pd.DataFrame, segmenter: tokens.Segmenter) -> None:
    simple = seed_policies(T2S.convert(SEED.read_text(encoding="utf-8")))
    simple_by_year = keywords.keyword_by_year(tokens.tokenize_policies(simple, segmenter), simple)
    ours = by_year.assign(term=[T2S.convert(t) for t in by_year["term"]]).set_index(["term", "year"])
    theirs = simple_by_year.set_index(["term", "year"])
    assert theirs.sort_index().equals(ours.sort_index())


TERMS = ["雲計算", "一网通办", "互聯網+", "政務服務", "电子政务外网", "大数据", "不存在的詞"]


def test_count_terms_equals_str_count(seed: pd.DataFrame) -> None:
    got = keywords.count_terms(seed, TERMS)
    assert list(got.columns[:4]) == ["term", "year", "count", "docs"]
    for term in TERMS:
        key = T2S.convert(term)
        for year in sorted(seed["year"].unique()):
            texts = [T2S.convert(t) for t in seed.loc[seed["year"] == year, "text"]]
            row = got[(got["term"] == term) & (got["year"] == year)]
            assert row["count"].item() == sum(t.count(key) for t in texts)
            assert row["docs"].item() == sum(key in t for t in texts)
    assert got.loc[got["term"] == "不存在的詞", "count"].sum() == 0
    assert got.loc[got["term"] == "雲計算", "count"].sum() > 0


def test_count_terms_finds_terms_segmentation_would_cut(seed: pd.DataFrame) -> None:
    # 子政 is never a token, yet it occurs inside every 電子政務
    got = keywords.count_terms(seed, ["子政"])
    assert got["count"].sum() == sum(T2S.convert(t).count("子政") for t in seed["text"]) > 0


def test_partials_sum_across_chunks(seed: pd.DataFrame, seed_tokens: pd.DataFrame) -> None:
    chunks = [seed.iloc[i : i + 6] for i in range(0, len(seed), 6)]
    parts = [(c, seed_tokens[seed_tokens["policy_id"].isin(c["policy_id"])]) for c in chunks]
    summed = keywords.combine_counts([keywords.keyword_counts(t, p) for p, t in parts])
    assert keywords.keyword_by_year_from_counts(summed, seed).equals(keywords.keyword_by_year(seed_tokens, seed))
    assert keywords.keyness_from_counts(summed).equals(keywords.keyness_by_year(seed_tokens, seed))


def test_g2_against_hand_values() -> None:
    # a=10 in c=100, b=0 in d=100: expected 5 and 5, G² = 2·10·ln 2
    assert keywords.log_likelihood_g2(10, 0, 100, 100) == pytest.approx(20 * math.log(2))
    # equal rates: no evidence
    assert keywords.log_likelihood_g2(5, 10, 100, 200) == pytest.approx(0.0, abs=1e-12)
    # Rayson & Garside style example: 2·(30 ln(30/20) + 10 ln(10/20))
    assert keywords.log_likelihood_g2(30, 10, 1000, 1000) == pytest.approx(2 * (30 * math.log(1.5) + 10 * math.log(0.5)))


def _fixture_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    # year 2020: 云计算 ×6, 数据 ×2; year 2021: 一网通办 ×6, 数据 ×2 (each spread over two policies)
    policies = pd.DataFrame({"policy_id": ["2020-01", "2020-02", "2021-01", "2021-02"], "year": [2020, 2020, 2021, 2021]})
    rows = []
    for pid, words in {"2020-01": ["雲計算"] * 3 + ["數據"], "2020-02": ["云计算"] * 3 + ["数据"],
                       "2021-01": ["一網通辦"] * 3 + ["數據"], "2021-02": ["一網通辦"] * 3 + ["數據", "，"]}.items():
        pos = 0
        for w in words:
            rows.append((pid, w, pos, pos + len(w), w != "，"))
            pos += len(w)
    return pd.DataFrame(rows, columns=["policy_id", "token", "start", "end", "keyword"]), policies


def test_keyness_on_constructed_tables() -> None:
    toks, policies = _fixture_tables()
    k = keywords.keyness_by_year(toks, policies)
    top2020 = k[(k["year"] == 2020) & (k["direction"] == "over")].iloc[0]
    assert top2020["term"] == "云计算" and top2020["count_year"] == 6 and top2020["count_rest"] == 0
    assert top2020["g2"] == pytest.approx(keywords.log_likelihood_g2(6, 0, 8, 8))
    assert top2020["p_value"] == pytest.approx(math.erfc(math.sqrt(top2020["g2"] / 2)))
    assert top2020["log_ratio"] == pytest.approx(math.log2((6.5 / 8) / (0.5 / 8)))
    under2020 = k[(k["year"] == 2020) & (k["direction"] == "under")]
    assert under2020.iloc[0]["term"] == "一網通辦" and under2020.iloc[0]["log_ratio"] < 0
    assert "數據" not in set(k["term"])  # same rate in both years: G² = 0, not listed
    # deterministic: same input, same bytes
    assert keywords.keyness_by_year(toks, policies).equals(k)
    by_year = keywords.keyword_by_year(toks, policies)
    # one term whatever the script; shown in its most frequent form (數據 3:1), a 3:3 tie by code point
    assert set(by_year.loc[by_year["year"] == 2020, "term"]) == {"云计算", "數據"}
    row = by_year[(by_year["year"] == 2020) & (by_year["term"] == "云计算")]
    assert row["count"].item() == 6 and row["docs"].item() == 2 and row["share_of_policies"].item() == 1.0


def test_keyness_single_year_is_empty() -> None:
    toks, policies = _fixture_tables()
    one = policies.assign(year=2020)
    k = keywords.keyness_by_year(toks, one)
    assert k.empty and list(k.columns) == keywords.KEYNESS_BY_YEAR.names


def test_keyness_on_seed_is_sorted_and_sane(seed: pd.DataFrame, seed_tokens: pd.DataFrame) -> None:
    k = keywords.keyness_by_year(seed_tokens, seed)
    assert not k.empty
    for (_, direction), g in k.groupby(["year", "direction"]):
        assert list(g["rank"]) == list(range(1, len(g) + 1))
        assert g["g2"].is_monotonic_decreasing
        assert ((g["log_ratio"] > 0) if direction == "over" else (g["log_ratio"] < 0)).all()
    assert k["p_value"].between(0, 1).all()


def test_top_terms_rule(by_year: pd.DataFrame) -> None:
    totals = {}
    for term, docs in zip(by_year["term"], by_year["docs"], strict=True):
        totals[term] = totals.get(term, 0) + docs
    top = top_terms_by_docs(by_year, 5)
    assert [totals[t] for t in top] == sorted(totals.values(), reverse=True)[:5]


@pytest.mark.filterwarnings("error:Glyph")
def test_figures_render_without_missing_glyphs(seed: pd.DataFrame, seed_tokens: pd.DataFrame, by_year: pd.DataFrame) -> None:
    import io

    import matplotlib.pyplot as plt

    apply_style()
    k = keywords.keyness_by_year(seed_tokens, seed)
    figs = [plot_keyword_trends(by_year), plot_keyword_trends(by_year, terms=["雲計算", "一網通辦", "没有的词"]),
            plot_keyword_heatmap(by_year), plot_keyness(k)]
    for fig in figs:
        fig.savefig(io.BytesIO(), format="png")  # glyph warnings fire at draw time
        plt.close(fig)
    trends = plot_keyword_trends(by_year, terms=["雲計算"])
    ax = trends.axes[0]
    assert "%" in ax.get_ylabel() and "政策" in ax.get_ylabel()
    assert ax.get_title() == "雲計算"
    line = ax.get_lines()[0]
    expected = by_year[by_year["term"] == "雲計算"].set_index("year")["share_of_policies"] * 100
    for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
        assert y == pytest.approx(expected.get(x, 0.0))
    plt.close(trends)


def test_cli_terms_prints_csv_and_writes_nothing(tmp_path: Path, seed: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    write_policies(seed, tmp_path)
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    assert main(["keywords", str(tmp_path), "--terms", "雲計算,一网通办", "--tables-dir", str(tables), "--figures-dir", str(figures)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("term,year,count,docs,")
    assert len(out) == 1 + 2 * seed["year"].nunique()
    cloud = [line.split(",") for line in out[1:] if line.startswith("雲計算,")]
    assert sum(int(r[2]) for r in cloud) == sum(T2S.convert(t).count("云计算") for t in seed["text"])
    assert not tables.exists() and not figures.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [config.POLICIES_FILE]


def test_cli_writes_tables_and_figures_reproducibly(tmp_path: Path, seed: pd.DataFrame) -> None:
    write_policies(seed, tmp_path)
    assert main(["tokens", str(tmp_path)]) == 0
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    args = ["keywords", str(tmp_path), "--tables-dir", str(tables), "--figures-dir", str(figures)]
    assert main(args) == 0
    names = ["keyword_by_year.csv", "keyness_by_year.csv"]
    figs = [f"{n}.{ext}" for n in ("keyword_trends", "keyword_heatmap", "keyness_by_year") for ext in ("png", "svg")]
    assert sorted(p.name for p in tables.iterdir()) == sorted(names)
    assert sorted(p.name for p in figures.iterdir()) == sorted(figs)
    before = {p.name: p.read_bytes() for p in [*tables.iterdir(), *figures.iterdir()]}
    assert main(args) == 0
    assert {p.name: p.read_bytes() for p in [*tables.iterdir(), *figures.iterdir()]} == before
    written = pd.read_csv(tables / "keyword_by_year.csv", encoding="utf-8-sig")
    assert list(written.columns[:7]) == ["term", "year", "count", "docs", "policies_in_year", "share_of_policies", "per_10k_tokens"]


def test_cli_missing_inputs_name_the_file(tmp_path: Path, seed: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keywords", str(tmp_path)]) == 2
    assert str(tmp_path / config.POLICIES_FILE) in capsys.readouterr().err
    write_policies(seed, tmp_path)
    assert main(["keywords", str(tmp_path), "--tables-dir", str(tmp_path / "t"), "--figures-dir", str(tmp_path / "f")]) == 2
    assert str(tmp_path / config.TOKENS_FILE) in capsys.readouterr().err
    assert not (tmp_path / "t").exists() and not (tmp_path / "f").exists()


def test_default_trend_terms_put_dictionary_terms_first(tmp_path):
    from analysis.keywords import default_trend_terms
    from analysis.tokens import load_segmenter

    by_year = pd.DataFrame(
        {"term": ["服務", "政府", "雲計算", "一網通辦"], "year": [2014, 2014, 2014, 2015], "docs": [9, 8, 2, 1], "count": [20, 15, 3, 1]}
    )
    userdict = tmp_path / "dict.txt"
    userdict.write_text("# mine\n云计算\n一网通办\n", encoding="utf-8")
    segmenter = load_segmenter(userdict, include_defaults=False)
    assert default_trend_terms(by_year, segmenter, n=3) == ["雲計算", "一網通辦", "服務"]
    assert default_trend_terms(by_year, load_segmenter(include_defaults=False), n=2) == ["服務", "政府"]
