"""Issuer counts, by-year table, joint-issuance network, prefixes, the CLI and its figures."""

from __future__ import annotations

import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

from analysis import issuers as iss
from analysis.cli import main
from analysis.tables import POLICIES, POLICY_ISSUERS, read_csv, validate, write_tables

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "raw" / "egov_policies_2013_2019.txt"


def make_policies(rows: list[dict]) -> pd.DataFrame:
    """A validated policies table from a few fields per row (the rest filled with neutral values)."""
    # Neutral values for every column the schema has (it grows as the parser does).
    neutral = {"str": "", "int": 1, "Int64": None, "float": 0.0, "bool": False}
    base = {c.name: neutral[c.kind] for c in POLICIES.columns} | {"source_file": "fixture.txt"}
    df = pd.DataFrame([{**base, **r} for r in rows])
    for c in POLICIES.columns:
        if c.kind == "Int64":
            df[c.name] = df[c.name].astype("Int64")
    return validate(df, POLICIES)


def make_issuers(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return validate(pd.DataFrame(rows, columns=["policy_id", "issuer", "role", "level"]), POLICY_ISSUERS)


class FakeRegistry:
    """Stands in for the lead's registry: only what the issuer step calls."""

    def __init__(self, levels: dict[str, str], prefixes: dict[str, str]) -> None:
        self._levels, self._prefixes = levels, prefixes

    def level(self, name: str) -> str:
        return self._levels.get(name, "")

    def issuer_for_prefix(self, prefix: str) -> str | None:
        return self._prefixes.get(prefix)


@pytest.fixture
def corpus() -> tuple[pd.DataFrame, pd.DataFrame]:
    policies = make_policies(
        [
            {"policy_id": "2014-01", "year": 2014, "title": "甲", "doc_number": "國辦發〔2014〕1號", "doc_prefix": "國辦發", "doc_year": 2014, "doc_serial": 1},
            {"policy_id": "2015-01", "year": 2015, "title": "乙", "doc_number": "國辦發〔2015〕2號", "doc_prefix": "國辦發", "doc_year": 2015, "doc_serial": 2},
            {"policy_id": "2015-02", "year": 2015, "title": "丙", "doc_number": "財庫〔2015〕3號", "doc_prefix": "財庫", "doc_year": 2015, "doc_serial": 3},
            {"policy_id": "2016-01", "year": 2016, "title": "丁", "doc_number": "某某發〔2016〕4號", "doc_prefix": "某某發", "doc_year": 2016, "doc_serial": 4},
            {"policy_id": "2017-01", "year": 2017, "title": "戊"},
        ]
    )
    pi = make_issuers(
        [
            ("2014-01", "中共中央辦公廳", "lead", "黨中央"),
            ("2014-01", "國務院辦公廳", "joint", "國務院"),
            ("2015-01", "中共中央辦公廳", "lead", "黨中央"),
            ("2015-01", "國務院辦公廳", "joint", "國務院"),
            ("2015-01", "財政部", "joint", "國務院部門"),
            ("2015-02", "財政部", "lead", "國務院部門"),
            ("2016-01", "國務院辦公廳", "lead", "國務院"),
            ("2016-01", "中共中央辦公廳", "joint", "黨中央"),
            ("2017-01", "民政部", "lead", "國務院部門"),
        ]
    )
    return policies, pi


def test_issuer_counts_by_role_and_years(corpus):
    policies, pi = corpus
    counts = iss.issuer_counts(pi, policies, None).set_index("issuer")
    assert counts.loc["中共中央辦公廳", ["lead", "joint", "total", "first_year", "last_year"]].tolist() == [2, 1, 3, 2014, 2016]
    assert counts.loc["國務院辦公廳", ["lead", "joint", "total"]].tolist() == [1, 2, 3]
    assert counts.loc["財政部", ["lead", "joint", "total", "first_year", "last_year"]].tolist() == [1, 1, 2, 2015, 2015]
    assert counts.loc["民政部", "level"] == "國務院部門"
    assert counts["total"].sum() == len(pi)


def test_issuer_counts_ranks_by_total_then_lead_then_name(corpus):
    policies, pi = corpus
    counts = iss.issuer_counts(pi, policies, None)
    assert counts["issuer"].tolist() == ["中共中央辦公廳", "國務院辦公廳", "財政部", "民政部"]


def test_issuer_counts_fills_an_empty_level_from_the_registry(corpus):
    policies, pi = corpus
    pi.loc[pi["issuer"] == "民政部", "level"] = ""
    counts = iss.issuer_counts(pi, policies, FakeRegistry({"民政部": "部委"}, {})).set_index("issuer")
    assert counts.loc["民政部", "level"] == "部委"


def test_issuer_counts_rejects_an_unknown_policy(corpus):
    policies, pi = corpus
    pi = pd.concat([pi, make_issuers([("2019-09", "民政部", "lead", "國務院部門")])])
    with pytest.raises(ValueError, match="2019-09"):
        iss.issuer_counts(pi, policies, None)


def test_issuer_by_year_is_long_and_sums_to_the_issuer_rows(corpus):
    policies, pi = corpus
    by_year = iss.issuer_by_year(pi, policies)
    assert list(by_year.columns) == ["issuer", "year", "policies"]
    cell = by_year.set_index(["issuer", "year"])["policies"]
    assert cell[("中共中央辦公廳", 2015)] == 1
    assert cell[("財政部", 2015)] == 2
    assert ("民政部", 2014) not in cell.index  # zeros are not listed
    assert by_year["policies"].sum() == len(pi)


def test_issuer_edges_are_the_co_issued_pairs(corpus):
    _, pi = corpus
    edges = iss.issuer_edges(pi)
    got = {(a, b): w for a, b, w in zip(edges["issuer_a"], edges["issuer_b"], edges["weight"])}
    assert got == {("中共中央辦公廳", "國務院辦公廳"): 3, ("中共中央辦公廳", "財政部"): 1, ("國務院辦公廳", "財政部"): 1}
    assert (edges["issuer_a"] < edges["issuer_b"]).all()
    assert edges.iloc[0]["policy_ids"] == "2014-01;2015-01;2016-01"


def test_issuer_edges_of_single_issuer_policies_are_empty():
    pi = make_issuers([("2014-01", "甲", "lead", "國務院"), ("2014-02", "乙", "lead", "國務院")])
    edges = iss.issuer_edges(pi)
    assert edges.empty and list(edges.columns) == ["issuer_a", "issuer_b", "weight", "policy_ids"]


def test_issuer_edges_do_not_depend_on_row_order(corpus):
    _, pi = corpus
    shuffled = pi.sample(frac=1, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(iss.issuer_edges(pi), iss.issuer_edges(shuffled))


def test_issuer_centrality_includes_isolated_bodies():
    # A path 甲—乙—丙 (乙 lies on the only shortest path between the ends) and an isolated 丁.
    edges = pd.DataFrame({"issuer_a": ["乙", "乙"], "issuer_b": ["甲", "丙"], "weight": [2, 1], "policy_ids": ["x", "y"]})
    cent = iss.issuer_centrality(edges, ["甲", "乙", "丙", "丁"]).set_index("issuer")
    assert cent.loc["乙", ["degree", "weighted_degree"]].tolist() == [2, 3]
    # 乙 is on 1 of the 3 pairs of other bodies' shortest paths (丁 reaches nobody): 1/3 normalised.
    assert cent.loc["乙", "betweenness"] == pytest.approx(1 / 3, abs=1e-6)
    assert cent.loc["甲", ["degree", "weighted_degree", "betweenness"]].tolist() == [1, 2, 0.0]
    assert cent.loc["丁", ["degree", "weighted_degree", "betweenness"]].tolist() == [0, 0, 0.0]
    assert cent.index[0] == "乙"


def test_doc_prefixes_maps_and_counts(corpus):
    policies, _ = corpus
    reg = FakeRegistry({}, {"國辦發": "國務院辦公廳", "財庫": "財政部"})
    got = iss.doc_prefixes(policies, reg)
    # Ties in count are in code-point order of the prefix (某 U+67D0 before 財 U+8CA1).
    assert got.values.tolist() == [["國辦發", "國務院辦公廳", 2], ["某某發", "", 1], ["財庫", "財政部", 1]]


# --- CLI -----------------------------------------------------------------------------------------


def _write_processed(folder: Path, policies: pd.DataFrame, pi: pd.DataFrame) -> None:
    write_tables({folder / "policies.csv": policies, folder / "policy_issuers.csv": pi}, schemas={folder / "policies.csv": POLICIES, folder / "policy_issuers.csv": POLICY_ISSUERS})


def test_cli_reports_a_missing_input_by_name(tmp_path, capsys):
    (tmp_path / "proc").mkdir()
    status = main(["issuers", str(tmp_path / "proc"), "--tables-dir", str(tmp_path / "t"), "--figures-dir", str(tmp_path / "f")])
    err = capsys.readouterr().err
    assert status == 2
    assert "policies.csv" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


def test_cli_rejects_issuers_of_unknown_policies_and_writes_nothing(tmp_path, corpus, capsys):
    policies, pi = corpus
    pi = pd.concat([pi, make_issuers([("2019-09", "民政部", "lead", "國務院部門")])])
    _write_processed(tmp_path / "proc", policies, pi)
    status = main(["issuers", str(tmp_path / "proc"), "--tables-dir", str(tmp_path / "t"), "--no-figures"])
    assert status == 2
    assert "policy_issuers.csv" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


def test_cli_help_describes_the_command():
    out = subprocess.run([sys.executable, "-m", "analysis", "issuers", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--tables-dir" in out and "--figures-dir" in out and "policy_issuers.csv" in out


@pytest.mark.filterwarnings("error:Glyph")
def test_cli_writes_every_table_and_figure_reproducibly(tmp_path, corpus):
    policies, pi = corpus
    _write_processed(tmp_path / "proc", policies, pi)
    outs = []
    for run in ("a", "b"):
        args = ["issuers", str(tmp_path / "proc"), "--tables-dir", str(tmp_path / run / "t"), "--figures-dir", str(tmp_path / run / "f")]
        assert main(args) == 0
        outs.append(tmp_path / run)
    names = sorted(p.relative_to(outs[0]).as_posix() for p in outs[0].rglob("*") if p.is_file())
    assert [n for n in names if n.startswith("t/")] == sorted(f"t/{f}" for f in iss.TABLE_FILES.values())
    assert {f"f/{n}.png" for n in ("issuer_counts", "issuer_by_year", "issuer_network", "policy_citations")} <= set(names)
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    counts = read_csv(outs[0] / "t" / "issuer_counts.csv")
    assert counts["total"].sum() == len(pi)


@pytest.mark.filterwarnings("error:Glyph")
def test_figures_show_the_table_counts(corpus):
    import matplotlib.pyplot as plt

    from analysis.plots import issuers as plots

    policies, pi = corpus
    counts = iss.issuer_counts(pi, policies, None)
    fig = plots.plot_issuer_counts(counts)
    widths = sorted(round(p.get_width()) for p in fig.axes[0].patches if p.get_width() > 0 and p.get_height() < 1)
    expected = sorted([v for v in counts["lead"] if v] + [v for v in counts["joint"] if v])
    assert widths == expected
    plt.close(fig)
    by_year = iss.issuer_by_year(pi, policies)
    fig = plots.plot_issuer_by_year(by_year, counts)
    heights = {}
    for p in fig.axes[0].patches:
        x = round(p.get_x() + p.get_width() / 2)
        heights[x] = heights.get(x, 0) + p.get_height()
    assert {k: round(v) for k, v in heights.items() if v} == by_year.groupby("year")["policies"].sum().to_dict()
    plt.close(fig)


# --- the seed ------------------------------------------------------------------------------------


def _independent_edges(pi: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Co-issued pairs counted directly from the rows, not by the code under test."""
    out: dict[tuple[str, str], int] = {}
    members: dict[str, set[str]] = {}
    for pid, issuer in zip(pi["policy_id"], pi["issuer"]):
        members.setdefault(pid, set()).add(issuer)
    for bodies in members.values():
        for a, b in combinations(sorted(bodies), 2):
            out[(a, b)] = out.get((a, b), 0) + 1
    return out


@pytest.fixture(scope="module")
def seed_outputs(tmp_path_factory) -> Path:
    pytest.importorskip("analysis.parse")
    base = tmp_path_factory.mktemp("seed")
    subprocess.run([sys.executable, "-m", "analysis", "parse", str(SEED), "--out", str(base / "proc")], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "analysis", "issuers", str(base / "proc"), "--tables-dir", str(base / "t"), "--figures-dir", str(base / "f")], check=True, capture_output=True)
    return base


def test_seed_edges_are_exactly_the_co_issued_pairs(seed_outputs):
    pi = read_csv(seed_outputs / "proc" / "policy_issuers.csv", POLICY_ISSUERS)
    edges = read_csv(seed_outputs / "t" / "issuer_edges.csv")
    got = {(a, b): int(w) for a, b, w in zip(edges["issuer_a"], edges["issuer_b"], edges["weight"])}
    assert got == _independent_edges(pi)
    # Read off the seed: the 2016 strategy outline, the 2018 and 2019 opinions are joint
    # 中共中央辦公廳/國務院辦公廳 documents; the 2017 catalogue guide is by 國家發展改革委 and 中央網信辦.
    assert got[("中共中央辦公廳", "國務院辦公廳")] == 3
    assert got[("中央網信辦", "國家發展改革委")] == 1


def test_seed_counts_agree_across_tables(seed_outputs):
    proc, t = seed_outputs / "proc", seed_outputs / "t"
    policies = read_csv(proc / "policies.csv", POLICIES)
    pi = read_csv(proc / "policy_issuers.csv", POLICY_ISSUERS)
    counts = read_csv(t / "issuer_counts.csv")
    assert counts["total"].sum() == len(pi)
    assert (counts["lead"] + counts["joint"] == counts["total"]).all()
    assert counts["lead"].sum() == pi["policy_id"].nunique()  # one lead per policy
    assert read_csv(t / "issuer_by_year.csv")["policies"].sum() == len(pi)
    cent = read_csv(t / "issuer_centrality.csv")
    assert sorted(cent["issuer"]) == sorted(counts["issuer"])
    edges = read_csv(t / "issuer_edges.csv")
    assert cent["weighted_degree"].sum() == 2 * edges["weight"].sum()
    prefixes = read_csv(t / "doc_prefixes.csv")
    assert prefixes["policies"].sum() == (policies["doc_prefix"] != "").sum()


def test_seed_work_plan_cites_the_integration_plan(seed_outputs):
    policies = read_csv(seed_outputs / "proc" / "policies.csv", POLICIES)
    cites = read_csv(seed_outputs / "t" / "policy_citations.csv", None).fillna("")
    plan = policies.loc[policies["title"] == "政務信息系統整合共享實施方案", "policy_id"].tolist()
    work = policies.loc[policies["title"].str.startswith("加快推進落實"), "policy_id"].tolist()
    assert len(plan) == 1 and len(work) == 1
    assert ((cites["citing_policy_id"] == work[0]) & (cites["cited_policy_id"] == plan[0])).sum() == 1
    # No policy cites itself.
    assert not (cites["citing_policy_id"] == cites["cited_policy_id"]).any()


def test_cli_uses_a_user_registry(tmp_path: Path) -> None:
    """--issuers FILE replaces the bundled registry: its prefixes and levels reach the tables."""
    from analysis.cli import main
    from analysis.parse import parse_compilation, write_parse_result

    compilation = tmp_path / "local.txt"
    compilation.write_text("地方政策汇编\n\n2021年\n\n北京市数据条例\n\n北京市人民政府印发《北京市数据条例》（京政发〔2021〕5号），要求推进数据共享。\n", encoding="utf-8")
    registry = tmp_path / "issuers.csv"
    registry.write_text("# mine\ncanonical,level,english,aliases,prefixes\n北京市人民政府,地方,Beijing Municipal Government,北京市政府,京政發\n", encoding="utf-8")
    from analysis.registry import load_registry

    write_parse_result(parse_compilation([compilation], registry=load_registry(registry)), tmp_path)
    out = tmp_path / "tables"
    assert main(["issuers", str(tmp_path), "--tables-dir", str(out), "--no-figures", "--issuers", str(registry)]) == 0
    prefixes = pd.read_csv(out / "doc_prefixes.csv", encoding="utf-8-sig")
    assert prefixes.to_dict("records") == [{"prefix": "京政发", "issuer": "北京市人民政府", "policies": 1}]
    counts = pd.read_csv(out / "issuer_counts.csv", encoding="utf-8-sig")
    assert counts["level"].tolist() == ["地方"]
