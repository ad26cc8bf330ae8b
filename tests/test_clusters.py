"""Tests of analysis.clusters and analysis.plots.clusters: seed behaviour, k rule, reproducibility."""

from __future__ import annotations

import math
import pickle
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from analysis import clusters, config  # noqa: E402
from analysis.cli import main  # noqa: E402
from analysis.tables import TOKENS, write_tables  # noqa: E402
from conftest import write_policies  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "seed_topic_groups.csv"


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.fixture(scope="module")
def seed_result(seed: pd.DataFrame, seed_tokens: pd.DataFrame) -> clusters.ClusterResult:
    return clusters.cluster_policies(seed_tokens, seed, clusters.ClusterParams())


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory: pytest.TempPathFactory, seed: pd.DataFrame, seed_tokens: pd.DataFrame) -> Path:
    folder = tmp_path_factory.mktemp("seed")
    write_policies(seed, folder)
    path = folder / config.TOKENS_FILE
    write_tables({path: seed_tokens}, schemas={path: TOKENS})
    return folder


def _frame(groups: list[list[list[str]]]) -> tuple[pd.DataFrame, pd.DataFrame, list[int]]:
    """Token and policy tables for constructed documents; returns also each policy's true group."""
    rows, pols, truth = [], [], []
    n = 0
    for g, docs in enumerate(groups):
        for words in docs:
            n += 1
            pid = f"{2000 + n % 4}-{n:02d}"
            pols.append({"policy_id": pid, "year": 2000 + n % 4})
            truth.append(g)
            pos = 0
            for w in words:
                rows.append({"policy_id": pid, "token": w, "start": pos, "end": pos + len(w), "keyword": True})
                pos += len(w)
    return pd.DataFrame(rows), pd.DataFrame(pols), truth


def _three_topics() -> tuple[pd.DataFrame, pd.DataFrame, list[int]]:
    rng = np.random.default_rng(7)
    vocab = [[f"{head}{i}" for i in range(12)] for head in ("雲計算", "政務公開", "數據共享")]
    shared = [f"電子政務{i}" for i in range(8)]
    groups = [[list(rng.choice(v, 8)) + list(rng.choice(shared, 4)) for _ in range(8)] for v in vocab]
    return _frame(groups)


# --- seed -------------------------------------------------------------------------------------


def test_reference_grouping_covers_every_seed_policy(seed: pd.DataFrame) -> None:
    ref = pd.read_csv(REFERENCE, comment="#", encoding="utf-8")
    assert len(ref) == len(seed) == 35
    assert set(ref["title"].map(_squash)) == set(seed["title"].map(_squash))
    assert ref["topic"].nunique() >= 5


def test_yearly_open_government_work_points_fall_in_one_cluster(seed: pd.DataFrame, seed_result: clusters.ClusterResult) -> None:
    ids = seed.loc[seed["title"].str.contains("政務公開工作要點"), "policy_id"]
    assert len(ids) >= 3
    assigned = seed_result.clusters.set_index("policy_id").loc[ids, "cluster"]
    assert assigned.nunique() == 1 and assigned.iloc[0] != clusters.UNCLUSTERED


def test_seed_k_selection_states_evidence_and_rule(seed_result: clusters.ClusterResult) -> None:
    table = seed_result.k_selection
    assert list(table["k"]) == list(range(2, 11))
    assert table["chosen"].sum() == 1
    assert table["stability"].between(-1, 1).all() and table["silhouette"].between(-1, 1).all()
    chosen = table[table["chosen"]].iloc[0]
    assert seed_result.k == chosen["k"] == seed_result.clusters["cluster"].max()
    # weak exactly when no k passes both tests, and the note says which
    assert seed_result.weak == (not table["supported"].any())
    assert ("WEAK STRUCTURE" in chosen["note"]) == seed_result.weak
    # every cluster has a label of top terms that are its own top-ranked terms
    for c, label in seed_result.clusters.drop_duplicates("cluster")[["cluster", "label"]].itertuples(index=False):
        top = seed_result.terms[seed_result.terms["cluster"] == c].sort_values("rank")["term"].head(6).tolist()
        assert label.split(clusters.LABEL_SEPARATOR)[0] == top[0]
        assert all(part in top for part in label.split(clusters.LABEL_SEPARATOR))


def test_seed_outputs_are_complete(seed: pd.DataFrame, seed_result: clusters.ClusterResult) -> None:
    out = seed_result.clusters
    assert sorted(out["policy_id"]) == sorted(seed["policy_id"])
    assert out["confidence"].between(0, 1).all() and out["distance"].between(0, 2).all()
    by_year = seed_result.by_year
    assert by_year.groupby("year")["policies"].sum().to_dict() == seed.groupby("year").size().to_dict()
    assert np.allclose(by_year.groupby("year")["share"].sum(), 1.0)


# --- the k rule on constructed corpora --------------------------------------------------------


def test_three_separated_topics_pick_three_and_recover_them() -> None:
    toks, pols, truth = _three_topics()
    result = clusters.cluster_policies(toks, pols, clusters.ClusterParams(k_max=6))
    assert result.k == 3 and not result.weak
    got = result.clusters.set_index("policy_id").loc[pols["policy_id"], "cluster"].to_numpy()
    # same partition as the construction: each true group maps to one cluster, and vice versa
    pairs = set(zip(truth, got))
    assert len(pairs) == 3 and len({g for g, _ in pairs}) == 3 and len({c for _, c in pairs}) == 3
    assert result.clusters["confidence"].min() == pytest.approx(1.0)


def test_noise_is_reported_as_weak_structure() -> None:
    rng = np.random.default_rng(3)
    vocab = [f"詞{i}" for i in range(60)]
    toks, pols, _ = _frame([[list(rng.choice(vocab, 12)) for _ in range(24)]])
    result = clusters.cluster_policies(toks, pols, clusters.ClusterParams(k_max=6))
    assert result.weak
    assert "WEAK STRUCTURE" in result.note
    assert not result.k_selection["supported"].any()


def test_large_corpus_path_samples_and_still_assigns_everyone() -> None:
    # thresholds lowered so the large path (LSA fitted on a sample, KMeans and evidence on a sample,
    # vectorised null) runs on a small corpus
    toks, pols, truth = _three_topics()
    params = clusters.ClusterParams(k_min=2, k_max=4, large_corpus=20, sample_size=15, lsa_sample=18, seeds=4, null_draws=3)
    result = clusters.cluster_policies(toks, pols, params)
    got = result.clusters.set_index("policy_id").loc[pols["policy_id"], "cluster"].to_numpy()
    assert (got != clusters.UNCLUSTERED).all()
    # the policies outside the sample joined the cluster of their own topic, with a confidence too
    assert result.k == 3 and len(set(zip(truth, got))) == 3
    assert result.clusters["confidence"].between(0, 1).all() and result.clusters["confidence"].max() == pytest.approx(1.0)
    # deterministic: a second run gives the same tables
    again = clusters.cluster_policies(toks, pols, params)
    pd.testing.assert_frame_equal(result.clusters, again.clusters)
    pd.testing.assert_frame_equal(result.k_selection, again.k_selection)


def test_k_range_is_capped_to_policies_minus_one() -> None:
    assert clusters.k_range(5, clusters.ClusterParams()) == [2, 3, 4]
    assert clusters.k_range(2, clusters.ClusterParams()) == []
    assert clusters.k_range(40, clusters.ClusterParams(k_min=3, k_max=5)) == [3, 4, 5]


# --- pieces -------------------------------------------------------------------------------------


def test_documents_key_on_simplified_and_show_the_common_form() -> None:
    toks = pd.DataFrame(
        {
            "policy_id": ["2020-01", "2020-01", "2020-02", "2020-02", "2020-03"],
            "token": ["雲計算", "，", "云计算", "雲計算", "數據"],
            "start": [0, 3, 0, 3, 0],
            "end": [3, 4, 3, 6, 2],
            "keyword": [True, False, True, True, True],
        }
    )
    codes = clusters.keyword_codes(toks, ["2020-01", "2020-02", "2020-03", "2020-04"])
    assert codes.documents() == [["云计算"], ["云计算", "云计算"], ["数据"], []]
    assert codes.display["云计算"] == "雲計算" and codes.display["数据"] == "數據"
    # a dictionary-encoded (categorical) read codes the same
    cat = clusters.keyword_codes(toks.astype({"policy_id": "category", "token": "category"}), ["2020-01", "2020-02", "2020-03", "2020-04"])
    assert cat.documents() == codes.documents() and cat.display == codes.display


def _vectorizer_tfidf(docs: list[list[str]], min_df: int, **kw: object):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=clusters.keyword_analyzer, token_pattern=None, lowercase=False, min_df=min_df, sublinear_tf=True, **kw)
    return vec.fit_transform(docs).tocsr(), vec


def _assert_same_sparse(got, want) -> None:
    # bit for bit and in the same stored order (sums follow it): the seed's results must not move
    assert got.shape == want.shape
    got, want = got.tocsr(), want.tocsr()
    assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)


def test_tfidf_from_codes_equals_tfidfvectorizer_on_the_seed(seed: pd.DataFrame, seed_tokens: pd.DataFrame) -> None:
    ids = sorted(seed["policy_id"].astype(str))
    codes = clusters.keyword_codes(seed_tokens, ids)
    params = clusters.ClusterParams()
    want, vec = _vectorizer_tfidf(codes.documents(), params.min_df)
    got = clusters.tfidf_matrix(codes, params)
    _assert_same_sparse(got, want)
    # the seed has terms in one policy only: min_df really removed columns
    assert 0 < got.shape[1] < len(codes.keys)


def test_tfidf_from_codes_equals_tfidfvectorizer_on_a_constructed_corpus() -> None:
    toks, pols, _ = _three_topics()
    # a Traditional/Simplified pair that must count as one term, a term of one policy, an empty policy
    extra = pd.DataFrame(
        {
            "policy_id": ["2001-01", "2002-02", "2002-02", "2003-03"],
            "token": ["數據", "数据", "孤詞", "數據"],
            "start": [900, 900, 905, 900],
            "end": [902, 902, 907, 902],
            "keyword": [True, True, True, True],
        }
    )
    toks = pd.concat([toks, extra], ignore_index=True)
    ids = sorted(pols["policy_id"]) + ["2099-01"]
    codes = clusters.keyword_codes(toks, ids)
    assert codes.documents()[-1] == [] and "孤词" in codes.keys
    for min_df in (1, 2, 5):
        want, vec = _vectorizer_tfidf(codes.documents(), min_df)
        got = clusters.tfidf_matrix(codes, clusters.ClusterParams(min_df=min_df))
        _assert_same_sparse(got, want)
        assert ("孤词" in vec.vocabulary_) == (min_df == 1)
    # nothing survives min_df: an empty matrix, as before
    assert clusters.tfidf_matrix(codes, clusters.ClusterParams(min_df=1000)).shape == (len(ids), 0)


def test_hashed_tfidf_equals_hashingvectorizer_on_the_documents() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    toks, pols, _ = _three_topics()
    codes = clusters.keyword_codes(toks, sorted(pols["policy_id"]))
    params = clusters.ClusterParams(hashing_vocabulary=10)  # the corpus has 44 keys: hashing path
    got = clusters.tfidf_matrix(codes, params)
    hashed = HashingVectorizer(
        analyzer=clusters.keyword_analyzer, token_pattern=None, lowercase=False, n_features=2**20, alternate_sign=False, norm=None
    ).transform(codes.documents())
    df = np.bincount(hashed.indices, minlength=hashed.shape[1])
    want = TfidfTransformer(sublinear_tf=True).fit_transform(hashed[:, np.flatnonzero(df >= params.min_df)])
    _assert_same_sparse(got, want)


def test_distinct_rows_are_distinct_sorted_and_sized() -> None:
    rng = np.random.default_rng(0)
    sizes = np.array([0, 1, 5, 30, 49, 50, 3])  # 49 and 50 of 50 rows: the dense branch
    rows = clusters._distinct_rows(sizes, 50, rng)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for j, size in enumerate(sizes):
        part = rows[starts[j] : starts[j + 1]]
        assert len(part) == size and len(set(part)) == size
        assert np.all(np.diff(part) > 0) and (part >= 0).all() and (part < 50).all()
    again = clusters._distinct_rows(sizes, 50, np.random.default_rng(0))
    assert np.array_equal(rows, again)


def test_vectorised_permutation_keeps_each_terms_weights_and_breaks_co_occurrence() -> None:
    toks, pols, _ = _three_topics()
    tfidf = clusters.tfidf_matrix(clusters.keyword_codes(toks, sorted(pols["policy_id"])), clusters.ClusterParams())
    null = clusters._permuted(tfidf, np.random.default_rng(1), vectorised=True)
    assert null.shape == tfidf.shape
    assert np.array_equal(null.getnnz(axis=0), tfidf.getnnz(axis=0))
    # each column holds the same weights (before the rows are renormalised, up to row scaling)
    assert np.array_equal((null > 0).sum(axis=0), (tfidf > 0).sum(axis=0))
    assert (null != tfidf).nnz > 0


def test_silhouette_from_distances_equals_silhouette_score() -> None:
    from sklearn.metrics import pairwise_distances, silhouette_score

    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 12))
    for k in (2, 5):
        labels = rng.integers(0, k, size=300)
        labels[0] = k  # a singleton scores 0
        want = silhouette_score(x, labels, metric="cosine")
        got = clusters._silhouette_from_distances(pairwise_distances(x, metric="cosine"), labels)
        assert got == pytest.approx(want, abs=1e-12)


def test_small_corpus_silhouette_is_silhouette_score_exactly() -> None:
    # one distance matrix serves every k; the values must be sklearn's own, bit for bit (committed results)
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 10))
    distances = clusters._cosine_distances(x, large=False)
    for k in (2, 3, 7):
        labels = rng.integers(0, k, size=400)
        labels[:2] = k  # a pair of their own
        assert clusters._silhouette(labels, distances, large=False) == silhouette_score(x, labels, metric="cosine")
    assert np.isnan(clusters._silhouette(np.zeros(400, dtype=int), distances, large=False))


def test_kmeans_fits_in_threads_equal_sequential_fits() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(6)
    x = np.vstack([rng.normal(loc=c, size=(150, 8)) for c in (0.0, 0.6, 1.2)])
    params = clusters.ClusterParams(seeds=6)
    with threadpool_limits(1):
        sequential = [clusters._kmeans(4, params.random_state + r, params, len(x)).fit(x) for r in range(params.seeds)]
    with ThreadPoolExecutor(3) as pool:
        threaded = clusters._seed_models(x, 4, params, len(x), pool)
    assert len(threaded) == params.seeds
    for a, b in zip(sequential, threaded):
        assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.cluster_centers_, b.cluster_centers_)
        assert a.inertia_ == b.inertia_


def test_coassociation_counts_shared_clusters() -> None:
    runs = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [2, 2, 2, 0]])
    co = clusters._coassociation(runs)
    assert co[0, 1] == pytest.approx(2 / 3) and co[2, 3] == pytest.approx(2 / 3) and co[0, 3] == 0
    assert np.array_equal(np.diag(co), np.ones(4)) and np.array_equal(co, co.T)


def test_class_tfidf_weights_match_a_hand_computation() -> None:
    toks, pols, _ = _frame([[["甲", "甲", "乙"]], [["乙", "丙"]]])
    codes = clusters.keyword_codes(toks, list(pols["policy_id"]))
    terms = clusters.cluster_terms(codes, [1, 2], top=5)
    # cluster 1: 3 tokens; 甲 tf 2/3, total 2; mean tokens per cluster = 5/2
    w = terms.set_index(["cluster", "term"])["weight"]
    assert w[(1, "甲")] == pytest.approx(2 / 3 * math.log(1 + 2.5 / 2), abs=1e-6)
    assert w[(1, "乙")] == pytest.approx(1 / 3 * math.log(1 + 2.5 / 2), abs=1e-6)
    assert w[(2, "丙")] == pytest.approx(1 / 2 * math.log(1 + 2.5 / 1), abs=1e-6)
    assert terms[terms["cluster"] == 1].sort_values("rank")["term"].tolist() == ["甲", "乙"]
    assert terms.set_index(["cluster", "term"])["count"].to_dict() == {(1, "甲"): 2, (1, "乙"): 1, (2, "丙"): 1, (2, "乙"): 1}


def test_vectorizer_with_the_module_analyzer_pickles() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=clusters.keyword_analyzer, token_pattern=None, lowercase=False).fit([["互聯網+政務服務", "雲"]])
    again = pickle.loads(pickle.dumps(vec))
    assert sorted(again.vocabulary_) == ["互聯網+政務服務", "雲"]


def test_policies_without_usable_terms_get_cluster_zero() -> None:
    toks, pols, _ = _three_topics()
    pols = pd.concat([pols, pd.DataFrame({"policy_id": ["2099-01"], "year": [2099]})], ignore_index=True)
    result = clusters.cluster_policies(toks, pols, clusters.ClusterParams(k_max=4, seeds=5, null_draws=3))
    row = result.clusters.set_index("policy_id").loc["2099-01"]
    assert row["cluster"] == clusters.UNCLUSTERED and row["label"] == clusters.UNCLUSTERED_LABEL


# --- CLI, reproducibility, figures ------------------------------------------------------------


def test_cli_reruns_are_byte_identical(seed_dir: Path, tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        tables = tmp_path / run
        args = [str(seed_dir), "--tables-dir", str(tables), "--no-figures", "--k-max", "6"]
        assert main(["clusters", *args]) == 0
        outputs.append(
            [(seed_dir / config.CLUSTERS_FILE).read_bytes()]
            + [(tables / f).read_bytes() for f in ("cluster_terms.csv", "cluster_k_selection.csv", "cluster_by_year.csv")]
        )
    assert outputs[0] == outputs[1]
    written = pd.read_csv(seed_dir / config.CLUSTERS_FILE, encoding="utf-8-sig")
    assert list(written.columns) == ["policy_id", "cluster", "label", "confidence", "distance"]


def test_cli_names_a_missing_tokens_file(tmp_path: Path, seed: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    write_policies(seed, tmp_path)
    assert main(["clusters", str(tmp_path), "--tables-dir", str(tmp_path / "t"), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert config.TOKENS_FILE in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / config.CLUSTERS_FILE).exists()


@pytest.mark.filterwarnings("error:Glyph")
def test_figures_render_with_cjk_glyphs(seed: pd.DataFrame, seed_result: clusters.ClusterResult, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from analysis.plots import apply_style, save_figure
    from analysis.plots import clusters as plots

    apply_style()
    figs = plots.all_figures(seed_result)
    assert sorted(figs) == ["cluster_by_year", "cluster_k_selection", "cluster_map", "cluster_terms"]
    for name, fig in figs.items():
        paths = save_figure(fig, name, tmp_path, formats=("png",))
        plt.close(fig)
        assert paths[0].stat().st_size > 10_000
    # the map's legend names every cluster with its label
    fig = plots.cluster_map_figure(seed_result)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert len(legend) == seed_result.k
    assert all(any(label in t for t in legend) for label in seed_result.clusters["label"].unique())


def test_crowded_map_shrinks_markers_and_keeps_the_legend_readable(seed_result: clusters.ClusterResult, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    from analysis.plots import clusters as plots

    fig = plots.cluster_map_figure(seed_result)
    full = [c.get_sizes()[0] for c in fig.axes[0].collections]
    plt.close(fig)
    assert set(full) == {60}  # the bundled corpus: full-size opaque markers, as committed
    monkeypatch.setattr(plots, "_READABLE_POINTS", 10)  # 35 policies now count as a crowd
    fig = plots.cluster_map_figure(seed_result)
    ax = fig.axes[0]
    assert all(c.get_sizes()[0] < 60 and c.get_alpha() < 1 for c in ax.collections)
    assert all(h.get_alpha() == 1.0 for h in ax.get_legend().legend_handles)
    plt.close(fig)


def test_dictionary_encoded_read_holds_the_keyword_rows(seed_dir: Path) -> None:
    from analysis.tables import load_tokens, read_keyword_token_codes

    coded = read_keyword_token_codes(seed_dir)
    plain = load_tokens(seed_dir)
    plain = plain[plain["keyword"]]
    assert isinstance(coded["token"].dtype, pd.CategoricalDtype) and coded["keyword"].all()
    for col in ("policy_id", "token", "start"):
        assert coded[col].astype(plain[col].dtype).tolist() == plain[col].tolist()


def test_cli_names_a_tokens_file_without_a_column(tmp_path: Path, seed: pd.DataFrame, seed_tokens: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    write_policies(seed, tmp_path)
    seed_tokens.drop(columns=["start"]).to_parquet(tmp_path / config.TOKENS_FILE)
    assert main(["clusters", str(tmp_path), "--tables-dir", str(tmp_path / "t"), "--no-figures"]) == 2
    err = capsys.readouterr().err
    assert config.TOKENS_FILE in err and "start" in err and len(err.strip().splitlines()) == 1
