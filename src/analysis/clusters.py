"""Topic clusters of policies: TF-IDF over keyword tokens, LSA, KMeans, and k chosen from evidence.

Method (every step deterministic for a given ``random_state``):

1. **Documents.** Each policy is the bag of its ``keyword`` tokens from ``tokens.parquet`` (no second
   tokenisation). Tokens are keyed on their OpenCC-Simplified form, so a corpus mixing Traditional and
   Simplified compilations counts one word once; terms are shown in their most frequent surface form.
   The tokens are held as integer codes (policy row, key), each distinct surface converted once.
2. **TF-IDF.** What ``TfidfVectorizer`` gives with **sublinear tf** (``1 + log tf``: a word repeated
   five times in one summary should not outweigh the rest of it) and **min_df = 2** (a term in one
   policy only cannot bring two policies together; it only adds noise dimensions), smooth idf, L2
   rows, columns = sorted keys; built from the codes as a sparse count matrix + ``TfidfTransformer``,
   equal to the vectorizer's matrix bit for bit (the tests compare them).
3. **LSA.** ``TruncatedSVD`` down to ``lsa_components`` dimensions (default: about a third of the
   policies, at most 100) then ``Normalizer``: merges co-occurring terms, so two summaries that share
   no exact word but the same vocabulary field still meet. KMeans on unit vectors ≈ cosine KMeans.
4. **KMeans** for every k in ``[k_min, min(k_max, n_policies - 1)]`` with ``n_init ≥ 10`` and fixed
   seeds.
5. **Evidence per k** (table ``cluster_k_selection.csv``):
   - ``silhouette``: cosine silhouette of the run seeded with ``random_state`` (and
     ``consensus_silhouette`` of the partition finally reported);
   - ``null_silhouette`` (mean, sd over ``null_draws``): the same pipeline on a *column-permuted* TF-IDF
     matrix (each term's weights shuffled across policies: same vocabulary and sparsity, no topic
     structure). Silhouette rises with k even on noise; the null rises too, so
     ``silhouette_z = (silhouette - null mean) / null sd`` is the part owed to real structure;
   - ``stability``: mean pairwise adjusted Rand index between ``seeds`` (20) KMeans runs with seeds
     ``random_state``, ``random_state + 1``, … (each itself the best of ``n_init`` starts). On ~35
     short summaries this is low even for the best k; on well separated topics it is 1.
6. **Rule.** A k is *supported* when ``stability ≥ stability_min`` (0.8) and ``silhouette_z ≥ z_min``
   (2). The chosen k is the smallest supported k whose ``silhouette_excess`` (silhouette − null) is
   within ``excess_tolerance`` (0.02) of the best supported k's. If no k is supported the structure is
   **weak**: the most stable k among those with ``silhouette_z ≥ z_min`` (all ks if none; ties →
   smaller k) is reported, and the ``note`` column and the CLI say "WEAK STRUCTURE". Clusters are then
   descriptive groupings, not findings.
7. **Partition reported** (consensus clustering): average-linkage clustering of 1 − co-association
   over the seed runs at the chosen k, so the result does not hang on one seed. Per policy:
   ``cluster`` (1 = largest), ``label`` (top three terms, skipping one contained in another),
   ``confidence`` (share of seed runs that put it with each of its cluster mates; 1 = always) and
   ``distance`` (cosine distance to its cluster centroid in the LSA space). Policies without any
   keyword term that survives ``min_df`` get cluster 0, label ``（無可用詞）``.
8. **Top terms**: class-based TF-IDF (c-TF-IDF, as in BERTopic): a term's share of the cluster's keyword
   tokens times ``log(1 + mean tokens per cluster / the term's total count)``; it favours terms
   frequent in the cluster and rare elsewhere, computed from raw counts (works with hashing too).

Scale (issue 7): matrices stay sparse up to LSA. Above ``large_corpus`` policies (default 5,000):

- the LSA basis is fitted on a seeded sample of ``lsa_sample`` policies (default 20,000) and every
  policy is projected on it;
- the KMeans runs (``n_init = 3``, at most 10 seeds) are fitted on a seeded sample of ``sample_size``
  policies (default 2,000); silhouette, null (fitted the same way), stability and the consensus are
  computed on that sample, the silhouettes (float32 distances, one matrix product) from one cosine
  distance matrix per embedding; only the chosen k's runs label every policy (for ``confidence``),
  and the other policies join the nearest consensus centroid;
- the permuted null draws each term's rows for all columns at once (rows drawn with replacement,
  repeats redrawn; a uniform draw too, but a different random stream from the small path's), and the
  sample's empty columns are dropped before its SVD.

These change the numbers of a large corpus, not of a small one: the path up to ``large_corpus`` keeps
its random streams and results. On both paths the independent KMeans fits of one k (and the null's)
run side by side, one thread per core, each fit on one OpenMP thread, so a model does not depend on
the machine's core count; and every embedding's cosine distance matrix is computed once for the
silhouettes of all ks (on the small path exactly the blocks ``silhouette_score`` computes, so its
values are unchanged): 5,000 policies take 42 s instead of 75 s. Above ``hashing_vocabulary``
distinct terms (default 200,000) the columns are hashed (each key once with ``HashingVectorizer``'s hash, 2**20 features; then
``TfidfTransformer``); top terms still come from the codes.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from . import config
from .engine import available_cores
from .errors import InputError
from .keywords import display_forms
from .progress import progress
from .script import to_simplified
from .tables import Column, Schema, read_keyword_token_codes, read_policy_columns, write_tables

UNCLUSTERED = 0
UNCLUSTERED_LABEL = "（無可用詞）"
LABEL_TERMS = 3
LABEL_SEPARATOR = "·"

CLUSTERS = Schema(
    "clusters",
    (
        Column("policy_id", "str", unique=True),
        Column("cluster", "int", description="1 = largest cluster; 0 = no usable keyword term"),
        Column("label", "str", description="the cluster's top terms joined with ·"),
        Column("confidence", "float", description="mean co-assignment with cluster mates over resampled runs"),
        Column("distance", "float", description="cosine distance to the cluster centroid"),
    ),
)
CLUSTER_TERMS = Schema(
    "cluster_terms",
    (
        Column("cluster", "int"),
        Column("label", "str"),
        Column("rank", "int"),
        Column("term", "str"),
        Column("weight", "float", description="class-based TF-IDF"),
        Column("count", "int", description="occurrences in the cluster's policies"),
    ),
    unique_together=("cluster", "rank"),
)
CLUSTER_K_SELECTION = Schema(
    "cluster_k_selection",
    (
        Column("k", "int", unique=True),
        Column("silhouette", "float", description="cosine silhouette of the full fit"),
        Column("null_silhouette", "float", description="mean silhouette on column-permuted TF-IDF"),
        Column("null_sd", "float"),
        Column("silhouette_z", "float", description="(silhouette - null) / null sd"),
        Column("silhouette_excess", "float", description="silhouette - null silhouette"),
        Column("stability", "float", description="mean pairwise ARI over resampled seeded runs"),
        Column("stability_sd", "float"),
        Column("consensus_silhouette", "float", description="cosine silhouette of the consensus partition (the one reported)"),
        Column("min_cluster_size", "int", description="smallest cluster of the consensus partition"),
        Column("supported", "bool", description="stability and silhouette_z both pass the rule"),
        Column("chosen", "bool"),
        Column("note", "str"),
    ),
)
CLUSTER_BY_YEAR = Schema(
    "cluster_by_year",
    (
        Column("year", "int"),
        Column("cluster", "int"),
        Column("label", "str"),
        Column("policies", "int"),
        Column("share", "float", description="share of the year's policies"),
    ),
    unique_together=("year", "cluster"),
)


@dataclass(frozen=True)
class ClusterParams:
    """Every knob of :func:`cluster_policies`; the defaults are the documented method."""

    k_min: int = 2
    k_max: int = 10
    seeds: int = 20
    random_state: int = 0
    n_init: int = 10
    min_df: int = 2
    sublinear_tf: bool = True
    lsa_components: int | None = None  # None → about n/3, at most 100; 0 → no LSA
    stability_min: float = 0.8
    z_min: float = 2.0
    excess_tolerance: float = 0.02
    subsample: float = 0.8
    null_draws: int = 8
    top_terms: int = 10
    large_corpus: int = 5000
    sample_size: int = 2000
    lsa_sample: int = 20_000
    hashing_vocabulary: int = 200_000


@dataclass
class ClusterResult:
    """Everything one clustering run produces (tables are ready to write)."""

    clusters: pd.DataFrame
    terms: pd.DataFrame
    k_selection: pd.DataFrame
    by_year: pd.DataFrame
    k: int
    weak: bool
    note: str
    embedding: np.ndarray  # rows align with ``policy_ids`` (clustered policies only)
    policy_ids: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# documents and vectors


def keyword_analyzer(doc: Sequence[str]) -> list[str]:
    """Analyzer for scikit-learn vectorizers: a document is already its list of keyword keys."""
    return list(doc)


@dataclass(frozen=True)
class KeywordCodes:
    """The keyword tokens of the clustered policies as integer codes, one entry per token.

    A large corpus repeats a few thousand words millions of times: holding them as codes (and each
    distinct word once) instead of per-policy lists of strings is what keeps ``clusters`` small and fast.
    """

    doc: np.ndarray  # row of the token's policy in the policy list
    term: np.ndarray  # index of the token's Simplified key in ``keys``
    start: np.ndarray  # the token's offset in its policy's text
    keys: np.ndarray  # distinct Simplified keys, sorted (TfidfVectorizer's column order)
    display: dict[str, str]  # key → its most frequent surface form
    n_docs: int

    def documents(self) -> list[list[str]]:
        """Each policy's keys in text order (small corpora and tests)."""
        docs: list[list[str]] = [[] for _ in range(self.n_docs)]
        order = np.lexsort((self.start, self.doc))
        for d, t in zip(self.doc[order].tolist(), self.keys[self.term[order]].tolist()):
            docs[d].append(t)
        return docs

    def first_seen(self) -> np.ndarray:
        """The keys ordered by first occurrence (policy order, then text order); unused keys last.

        This is the order in which ``CountVectorizer`` meets the terms, and the order its matrix keeps
        within each row: :func:`tfidf_matrix` stores entries the same way so sums (row norms, the SVD's
        products) add in the same order and the small path's results stay bit for bit.
        """
        position = (self.doc.astype(np.int64) << 32) | self.start.astype(np.int64)
        first = np.full(len(self.keys), np.iinfo(np.int64).max)
        np.minimum.at(first, self.term, position)
        return np.argsort(first, kind="stable")


def keyword_codes(tokens: pd.DataFrame, policy_ids: Sequence[str]) -> KeywordCodes:
    """Code the ``keyword`` tokens of ``policy_ids`` on their OpenCC-Simplified key.

    Each distinct surface form is converted once. The display form of a key is its most frequent
    surface form in the corpus (ties: the smallest string), so a Traditional corpus shows Traditional
    terms and a mixed one counts each word once. ``policy_id`` and ``token`` may be strings or
    categoricals (a dictionary-encoded read).
    """
    kw = tokens.loc[tokens["keyword"].astype(bool), ["policy_id", "token", "start"]]
    surface_code, surfaces = pd.factorize(kw["token"])
    surfaces = np.asarray([str(t) for t in surfaces], dtype=object)
    keys, key_of_surface = np.unique(np.asarray([to_simplified(t) for t in surfaces], dtype=object), return_inverse=True)
    forms = pd.DataFrame({"term_key": keys[key_of_surface], "token": surfaces, "count": np.bincount(surface_code, minlength=len(surfaces))})
    pid_code, pids = pd.factorize(kw["policy_id"])
    row_of_pid = pd.Index(list(policy_ids)).get_indexer([str(p) for p in pids])
    doc = row_of_pid[pid_code] if len(pid_code) else np.empty(0, dtype=np.int64)
    keep = doc >= 0  # tokens of policies outside ``policy_ids`` still vote on display forms only
    start = kw["start"].to_numpy()[keep]
    return KeywordCodes(
        doc=doc[keep].astype(np.int32),
        term=key_of_surface[surface_code[keep]].astype(np.int32),
        start=start.astype(np.int32) if len(start) == 0 or start.max() < 2**31 else start,
        keys=keys,
        display=display_forms(forms).to_dict(),
        n_docs=len(policy_ids),
    )


def _count_matrix(codes: KeywordCodes, columns: np.ndarray, n_columns: int) -> sparse.csr_matrix:
    """Policy × column token counts (duplicates summed, indices sorted), straight from the codes.

    Float64 from the start, as ``TfidfVectorizer`` counts: a later ``astype`` would re-sort the entries.
    """
    ones = np.ones(len(columns), dtype=np.float64)
    return sparse.csr_matrix((ones, (codes.doc, columns)), shape=(codes.n_docs, n_columns))


def _hashed_columns(keys: np.ndarray) -> np.ndarray:
    """The ``HashingVectorizer`` (2**20 features) column of each key, hashing each distinct key once."""
    from sklearn.feature_extraction.text import HashingVectorizer

    hashed = HashingVectorizer(
        analyzer=keyword_analyzer, token_pattern=None, lowercase=False, n_features=2**20, alternate_sign=False, norm=None
    ).transform([[key] for key in keys])
    return hashed.indices[hashed.indptr[:-1]]  # one feature per single-key document


def tfidf_matrix(codes: KeywordCodes, params: ClusterParams) -> sparse.csr_matrix:
    """Sparse L2-normalised TF-IDF matrix of the coded documents (sublinear tf, ``min_df``; hashing when huge).

    Equal, bit for bit and in stored order, to ``TfidfVectorizer(min_df, sublinear_tf)`` on the
    documents (columns = the sorted keys that pass ``min_df``), but built from the codes without a
    Python list per policy: counts in first-seen column order (``CountVectorizer``'s), the ``min_df``
    columns kept, the columns renamed to sorted-key order, then ``TfidfTransformer``. Above
    ``hashing_vocabulary`` distinct keys the columns are the keys' hashes, each key hashed once (what
    ``HashingVectorizer`` + ``TfidfTransformer`` give on the documents).
    """
    from sklearn.feature_extraction.text import TfidfTransformer

    min_df = max(1, min(params.min_df, codes.n_docs))
    hashing = np.count_nonzero(np.bincount(codes.term, minlength=len(codes.keys))) > params.hashing_vocabulary
    if hashing:
        counts = _count_matrix(codes, _hashed_columns(codes.keys)[codes.term], 2**20)
    else:
        first_seen = codes.first_seen()
        rank = np.empty_like(first_seen)
        rank[first_seen] = np.arange(len(first_seen))
        counts = _count_matrix(codes, rank[codes.term], len(first_seen))
    kept = np.flatnonzero(np.bincount(counts.indices, minlength=counts.shape[1]) >= min_df)
    if len(kept) == 0:  # empty vocabulary after min_df
        return sparse.csr_matrix((codes.n_docs, 0))
    counts = counts[:, kept]
    if not hashing:  # first-seen columns → sorted-key columns; entries keep their order within a row
        column = np.empty(len(kept), dtype=counts.indices.dtype)
        column[np.argsort(first_seen[kept])] = np.arange(len(kept))
        counts.indices = column[counts.indices]
    transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=params.sublinear_tf)
    return sparse.csr_matrix(transformer.fit_transform(counts))


def _lsa_components(params: ClusterParams, n_docs: int, n_terms: int) -> int:
    if params.lsa_components is not None:
        wanted = params.lsa_components
    else:
        wanted = min(100, max(2, round(n_docs / 3)))
    return max(0, min(wanted, n_docs - 1, n_terms - 1))


def embed(tfidf: sparse.csr_matrix, params: ClusterParams, n_components: int | None = None) -> np.ndarray:
    """LSA embedding (TruncatedSVD + L2 normalisation) of a TF-IDF matrix, as a dense array.

    With 0 components the TF-IDF rows themselves are returned (dense; small corpora only). Above
    ``large_corpus`` rows (and ``lsa_sample``) the SVD is fitted on a seeded sample of ``lsa_sample``
    rows and every row is projected on it: the randomized SVD's dense power iterations over all rows were most of the stage's
    time, and at 200,000 synthetic policies the pairwise cosines of the two embeddings correlate at 0.99999.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    if n_components is None:
        n_components = _lsa_components(params, tfidf.shape[0], tfidf.shape[1])
    if n_components < 2:
        return normalize(tfidf).toarray()
    svd = TruncatedSVD(n_components=n_components, algorithm="randomized", n_iter=7, random_state=params.random_state)
    n = tfidf.shape[0]
    if n <= max(params.large_corpus, params.lsa_sample):
        return normalize(svd.fit_transform(tfidf))
    rows = np.sort(np.random.default_rng(params.random_state).choice(n, size=params.lsa_sample, replace=False))
    return normalize(svd.fit(tfidf[rows]).transform(tfidf))


def _permuted(tfidf: sparse.csr_matrix, rng: np.random.Generator, vectorised: bool = False) -> sparse.csr_matrix:
    """Each column's nonzero weights moved to random rows: same terms and sparsity, no co-occurrence.

    Small corpora draw column by column (the stream their committed results come from); with
    ``vectorised`` all columns are drawn at once (:func:`_distinct_rows`), which a large vocabulary needs.
    """
    from sklearn.preprocessing import normalize

    csc = sparse.csc_matrix(tfidf, copy=True)
    n = csc.shape[0]
    if vectorised:
        csc.indices = _distinct_rows(np.diff(csc.indptr), n, rng).astype(csc.indices.dtype)
    else:
        for j in range(csc.shape[1]):
            lo, hi = csc.indptr[j], csc.indptr[j + 1]
            if hi > lo:
                csc.indices[lo:hi] = np.sort(rng.choice(n, size=hi - lo, replace=False))
    return sparse.csr_matrix(normalize(csc.tocsr()))


def _distinct_rows(sizes: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """For every column j, ``sizes[j]`` distinct rows of ``range(n)`` drawn uniformly, sorted, concatenated.

    Rows are drawn with replacement and only the repeats are redrawn until none is left; by symmetry
    each column's set is still a uniform draw. A column filling more than half the rows would need
    many rounds, so those few take the head of a permutation instead.
    """
    col = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    rows = np.empty(len(col), dtype=np.int64)
    dense = sizes > n // 2
    for j in np.flatnonzero(dense):
        rows[starts[j] : starts[j + 1]] = rng.permutation(n)[: sizes[j]]
    redraw = ~dense[col]
    while redraw.any():
        rows[redraw] = rng.integers(n, size=int(redraw.sum()))
        key = col * n + rows
        order = np.argsort(key, kind="stable")
        redraw = np.zeros(len(key), dtype=bool)
        redraw[order[1:]] = key[order[1:]] == key[order[:-1]]
    return rows[np.lexsort((rows, col))]


# ---------------------------------------------------------------------------------------------
# KMeans and the evidence for k


def _kmeans(k: int, seed: int, params: ClusterParams, n: int):
    from sklearn.cluster import KMeans

    if n > params.large_corpus:  # fitted on the sample only: full-batch Lloyd, fewer starts
        return KMeans(n_clusters=k, n_init=3, random_state=seed)
    return KMeans(n_clusters=k, n_init=max(10, params.n_init), random_state=seed)


def _silhouette(labels: np.ndarray, distances: np.ndarray, large: bool) -> float:
    """Cosine silhouette of ``labels`` from the rows' cosine ``distances`` (:func:`_cosine_distances`).

    On a small corpus it is ``silhouette_score(x, labels, metric="cosine")`` exactly (its committed
    results): sklearn's own silhouette run on the distance matrix it would compute itself. On a large
    one's sample, one matrix product (:func:`_silhouette_from_distances`).
    """
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return float("nan")
    if large:
        return _silhouette_from_distances(distances, labels)
    return float(silhouette_score(distances, labels, metric="precomputed"))


def _silhouette_from_distances(distances: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (as ``silhouette_score``: 0 for a singleton) from a distance matrix, with one
    matrix product for every row's summed distance to every cluster."""
    codes = np.unique(labels, return_inverse=True)[1].ravel()
    onehot = np.zeros((len(codes), codes.max() + 1), dtype=distances.dtype)
    onehot[np.arange(len(codes)), codes] = 1
    sizes = onehot.sum(axis=0).astype(np.float64)
    mean_to = (distances @ onehot).astype(np.float64) / sizes  # row × cluster mean distance
    own = sizes[codes]
    rows = np.arange(len(codes))
    a = mean_to[rows, codes] * own / np.maximum(own - 1, 1)  # the row's own zero distance left out
    mean_to[rows, codes] = np.inf
    b = mean_to.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(np.mean(np.nan_to_num(s)))


def _cosine_distances(x: np.ndarray, large: bool) -> np.ndarray:
    """The rows' cosine distance matrix, computed once per embedding for the silhouettes of every k.

    On a large corpus's sample float32 (16 MB at 2,000 rows). On a small corpus float64 and exactly
    the blocks ``silhouette_score(x, labels, metric="cosine")`` computes (``pairwise_distances_chunked``),
    so the silhouettes equal its own; 200 MB at 5,000 rows.
    """
    from sklearn.metrics import pairwise_distances, pairwise_distances_chunked

    if large:
        return pairwise_distances(x, metric="cosine").astype(np.float32)
    blocks = list(pairwise_distances_chunked(x, metric="cosine"))
    return blocks[0] if len(blocks) == 1 else np.vstack(blocks)


def _seed_models(xs: np.ndarray, k: int, params: ClusterParams, n: int, pool: ThreadPoolExecutor) -> list:
    """KMeans models fitted on the (sampled) rows ``xs`` with seeds random_state, random_state + 1, …"""
    runs = min(params.seeds, 10) if n > params.large_corpus else params.seeds
    return list(pool.map(_fit, [_kmeans(k, params.random_state + r, params, n) for r in range(runs)], [xs] * runs))


def _fit(model, x: np.ndarray):
    """``model.fit(x)`` on one OpenMP thread, in whichever thread runs it.

    The fits of one k run side by side in threads (Lloyd's loop releases the GIL). OpenMP's thread
    count is per thread, so each fit sets it for itself: one thread, as in a sequential fit, gives the
    same model whichever thread fits it and however many run at once.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):
        return model.fit(x)



def _labelings(models: list, x: np.ndarray) -> np.ndarray:
    """Runs × rows: each model's labels for the rows of ``x``."""
    return np.stack([m.predict(x) for m in models]).astype(np.int64)


def _mean_pairwise_ari(runs: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score

    scores = [adjusted_rand_score(runs[i], runs[j]) for i, j in combinations(range(len(runs)), 2)]
    if not scores:
        return float("nan"), float("nan")
    return float(np.mean(scores)), float(np.std(scores))


def _coassociation(runs: np.ndarray) -> np.ndarray:
    """Share of runs that put each pair of rows in the same cluster."""
    # one-hot labels of all runs side by side: co-occurrence counts are one matrix product (exact in
    # float64, so the same numbers as comparing every pair run by run)
    onehot = np.hstack([np.eye(run.max() + 1)[run] for run in runs])
    co = onehot @ onehot.T
    return co / len(runs)


def consensus_partition(runs: np.ndarray, k: int) -> np.ndarray:
    """k clusters from average-linkage clustering of 1 - co-association across ``runs`` (rows × items).

    One KMeans run on a small corpus is one draw from an unstable procedure; the consensus keeps the
    pairs most runs agree on, and it does not depend on which seed came first.
    """
    from sklearn.cluster import AgglomerativeClustering

    distance = 1.0 - _coassociation(runs)
    return AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average").fit(distance).labels_.astype(np.int64)


def _sample_rows(n: int, params: ClusterParams) -> np.ndarray:
    """All rows, or a seeded sample of ``sample_size`` rows for corpora above ``large_corpus``."""
    if n <= params.large_corpus:
        return np.arange(n)
    return np.sort(np.random.default_rng(params.random_state).choice(n, size=params.sample_size, replace=False))


def k_range(n_policies: int, params: ClusterParams) -> list[int]:
    """The candidate ks: ``k_min``…``k_max`` capped to ``n_policies - 1`` (empty when n < 3)."""
    return list(range(max(2, params.k_min), min(params.k_max, n_policies - 1) + 1))


@dataclass
class _Evidence:
    table: pd.DataFrame
    runs: dict[int, np.ndarray]  # k → seed runs × sampled rows
    models: dict[int, list]  # k → the fitted seed models
    consensus: dict[int, np.ndarray]  # k → consensus labels of the sampled rows
    rows: np.ndarray  # the sampled rows (all rows below ``large_corpus``)
    x: np.ndarray  # the embedding

    def all_rows(self, k: int) -> np.ndarray:
        """The seed runs at ``k`` over every row (on a sampled corpus predicted here, for one k only)."""
        if len(self.rows) == self.x.shape[0]:
            return self.runs[k]
        return _labelings(self.models[k], self.x)


def select_k(tfidf: sparse.csr_matrix, params: ClusterParams) -> _Evidence:
    """Fit every candidate k, tabulate the evidence and apply the rule of the module docstring."""
    from threadpoolctl import threadpool_limits

    n = tfidf.shape[0]
    ks = k_range(n, params)
    if not ks:
        raise ValueError(f"need at least 3 policies with usable terms to cluster, got {n}")
    large = n > params.large_corpus
    n_comp = _lsa_components(params, n, tfidf.shape[1])
    rows = _sample_rows(n, params)
    rng = np.random.default_rng(params.random_state)
    sample = tfidf[rows]
    used = np.flatnonzero(sample.getnnz(axis=0))
    if large and len(used) > n_comp:  # the sample's empty columns change nothing but the SVD's cost
        sample = sample[:, used]
    records, runs, models, consensus = [], {}, {}, {}
    # One thread per fit: every fit here is sample-sized (the LSA basis too); there OpenMP/BLAS start-up
    # and, on a shared machine, threads waiting for each other cost far more than a second thread
    # gains. Independent fits run side by side instead (_seed_models).
    with threadpool_limits(1), ThreadPoolExecutor(available_cores()) as pool:
        x = embed(tfidf, params, n_comp)
        xs = x[rows]
        nulls = [embed(_permuted(sample, rng, vectorised=large), params, n_comp) for _ in range(params.null_draws)]
        for k in progress(ks, desc="choosing k", total=len(ks)):
            models[k] = _seed_models(xs, k, params, n, pool)
            runs[k] = _labelings(models[k], xs)
            consensus[k] = consensus_partition(runs[k], k)
        # Silhouettes from one embedding's distance matrix at a time (each is n × n).
        distances = _cosine_distances(xs, large)
        silhouette = {k: _silhouette(runs[k][0], distances, large) for k in ks}
        consensus_silhouette = {k: _silhouette(consensus[k], distances, large) for k in ks}
        null: dict[int, list[float]] = {k: [] for k in ks}
        for z in progress(nulls, desc="null model", total=len(nulls)):
            distances = None  # the previous matrix goes before the next is computed
            distances = _cosine_distances(z, large)
            # the null is fitted the way the real runs are (KMeans with fewer starts on a large corpus)
            fits = pool.map(_fit, [_kmeans(k, params.random_state, params, n) for k in ks], [z] * len(ks))
            for k, model in zip(ks, fits):
                null[k].append(_silhouette(model.labels_, distances, large))
        del distances
    for k in ks:
        null_mean = float(np.nanmean(null[k])) if null[k] else float("nan")
        null_sd = float(np.nanstd(null[k], ddof=1)) if len(null[k]) > 1 else float("nan")
        stab, stab_sd = _mean_pairwise_ari(runs[k])
        z = (silhouette[k] - null_mean) / max(null_sd, 1e-3) if not math.isnan(null_sd) else float("nan")
        records.append(
            {
                "k": k,
                "silhouette": silhouette[k],
                "null_silhouette": null_mean,
                "null_sd": null_sd,
                "silhouette_z": z,
                "stability": stab,
                "stability_sd": stab_sd,
                "consensus_silhouette": consensus_silhouette[k],
                "min_cluster_size": int(np.bincount(consensus[k], minlength=k).min()),
            }
        )
    table = _apply_rule(pd.DataFrame.from_records(records), params)
    return _Evidence(table=table, runs=runs, models=models, consensus=consensus, rows=rows, x=x)


def _apply_rule(table: pd.DataFrame, params: ClusterParams) -> pd.DataFrame:
    """Mark supported ks and the chosen one; fill ``note`` (see the module docstring for the rule)."""
    table = table.copy()
    stable = table["stability"] >= params.stability_min
    above_null = table["silhouette_z"] >= params.z_min
    table["supported"] = (stable & above_null).fillna(False).astype(bool)
    notes = []
    for s, a in zip(stable, above_null):
        parts = [] if s else [f"unstable (stability < {params.stability_min:g})"]
        if not a:
            parts.append(f"silhouette not above permuted null (z < {params.z_min:g})")
        notes.append("; ".join(parts))
    table["note"] = notes
    table["silhouette_excess"] = table["silhouette"] - table["null_silhouette"]
    if table["supported"].any():
        ok = table[table["supported"]]
        best = ok["silhouette_excess"].max()
        pick = ok[ok["silhouette_excess"] >= best - params.excess_tolerance].sort_values("k").iloc[0]
        verdict = (
            f"chosen: smallest k with stability >= {params.stability_min:g}, silhouette_z >= {params.z_min:g} "
            f"and silhouette - null within {params.excess_tolerance:g} of the best such k"
        )
    else:
        pool = table[above_null.fillna(False)] if above_null.any() else table
        pick = pool.sort_values(["stability", "k"], ascending=[False, True], kind="stable", na_position="last").iloc[0]
        verdict = (
            f"WEAK STRUCTURE: no k has stability >= {params.stability_min:g} and silhouette_z >= "
            f"{params.z_min:g}; chosen: the most stable k (among ks above the null if any); clusters are descriptive only"
        )
    table["chosen"] = table["k"] == pick["k"]
    table.loc[table["chosen"], "note"] = verdict
    return table


# ---------------------------------------------------------------------------------------------
# describing the clusters


def _renumber(labels: np.ndarray, ids: Sequence[str]) -> np.ndarray:
    """Clusters numbered 1… by size (largest first), ties by their first policy id: seed-free names."""
    labels = np.asarray(labels)
    first_id = pd.Series(list(ids), dtype=object).groupby(labels).min()
    sizes = np.bincount(labels)[first_id.index]
    order = sorted(zip(-sizes, first_id.to_numpy(), first_id.index))  # (−size, first id, label)
    mapping = np.zeros(labels.max() + 1, dtype=np.int64)
    mapping[[c for _, _, c in order]] = np.arange(1, len(order) + 1)
    return mapping[labels]


def cluster_terms(codes: KeywordCodes, clusters: Sequence[int], top: int) -> pd.DataFrame:
    """Top ``top`` terms per cluster by class-based TF-IDF (see the module docstring).

    ``clusters`` gives each policy's cluster (rows of ``codes``); counts come from the codes.
    """
    clusters = np.asarray(clusters, dtype=np.int64)
    token_cluster = clusters[codes.doc]
    kept = token_cluster != UNCLUSTERED
    n_clusters = int(clusters.max()) + 1 if len(clusters) else 1
    pairs = sparse.coo_matrix(
        (np.ones(int(kept.sum()), dtype=np.int64), (token_cluster[kept], codes.term[kept])), shape=(n_clusters, len(codes.keys))
    ).tocsr().tocoo()
    counts = pd.DataFrame({"cluster": pairs.row.astype(np.int64), "key": codes.keys[pairs.col], "count": pairs.data})
    if counts.empty:
        return pd.DataFrame(columns=["cluster", "rank", "term", "weight", "count"])
    per_cluster = counts.groupby("cluster")["count"].transform("sum")
    total = counts.groupby("key")["count"].transform("sum")
    mean_size = counts["count"].sum() / counts["cluster"].nunique()
    counts["weight"] = counts["count"] / per_cluster * np.log1p(mean_size / total)
    counts["term"] = counts["key"].map(codes.display)
    counts = counts.sort_values(["cluster", "weight", "count", "key"], ascending=[True, False, False, True], kind="stable")
    counts = counts.groupby("cluster", sort=True).head(top).copy()
    counts["rank"] = counts.groupby("cluster").cumcount() + 1
    counts["weight"] = counts["weight"].round(6)
    return counts[["cluster", "rank", "term", "weight", "count"]].reset_index(drop=True)


def _labels(terms: pd.DataFrame) -> dict[int, str]:
    """A short label per cluster: its top terms, skipping one that merely repeats part of another."""
    out: dict[int, str] = {}
    for c, group in terms.groupby("cluster", sort=True):
        chosen: list[str] = []
        for term in group.sort_values("rank")["term"]:
            if any(term in t or t in term for t in chosen):
                continue
            chosen.append(term)
            if len(chosen) == LABEL_TERMS:
                break
        out[int(c)] = LABEL_SEPARATOR.join(chosen)
    return out


def _confidence(clusters: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """Per item: the share of (run, cluster mate) pairs in which a seed run put the two together.

    Computed run by run from a cluster × run-label contingency table, so it costs O(items × runs)
    rather than the items² of a co-association matrix. A singleton scores 1.
    """
    out = np.zeros(len(clusters))
    sizes = np.bincount(clusters)
    for run in runs:
        table = pd.crosstab(clusters, run)
        together = table.to_numpy()[np.searchsorted(table.index, clusters), np.searchsorted(table.columns, run)]
        mates = sizes[clusters] - 1
        out += np.where(mates > 0, (together - 1) / np.maximum(mates, 1), 1.0)
    return out / len(runs)


def _assign(x: np.ndarray, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Labels for every row: the sampled ``rows`` keep theirs, the rest join the nearest centroid."""
    if len(rows) == x.shape[0]:
        return labels.copy()
    centroids = np.vstack([x[rows][labels == c].mean(axis=0) for c in range(labels.max() + 1)])
    out = np.argmax(x @ centroids.T, axis=1)
    out[rows] = labels
    return out


def _distances(x: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    out = np.empty(len(clusters))
    for c in np.unique(clusters):
        members = clusters == c
        centroid = x[members].mean(axis=0)
        norm = np.linalg.norm(centroid)
        centroid = centroid / norm if norm > 0 else centroid
        out[members] = 1.0 - x[members] @ centroid
    return np.clip(out, 0.0, 2.0)


def cluster_by_year(clusters: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """Policies per (year, cluster), zeros included, with each cluster's share of its year."""
    merged = clusters.merge(policies[["policy_id", "year"]], on="policy_id", how="left", validate="one_to_one")
    labels = clusters.drop_duplicates("cluster").set_index("cluster")["label"]
    grid = pd.MultiIndex.from_product([sorted(merged["year"].unique()), sorted(labels.index)], names=["year", "cluster"])
    counts = merged.groupby(["year", "cluster"]).size().reindex(grid, fill_value=0).rename("policies").reset_index()
    counts["label"] = counts["cluster"].map(labels)
    counts["share"] = (counts["policies"] / counts.groupby("year")["policies"].transform("sum")).round(6)
    return counts[["year", "cluster", "label", "policies", "share"]]


def cluster_policies(tokens: pd.DataFrame, policies: pd.DataFrame, params: ClusterParams = ClusterParams()) -> ClusterResult:
    """Cluster the policies of ``policies`` on their keyword tokens; see the module docstring.

    Raises ``ValueError`` when fewer than three policies have a usable term.
    """
    ids = sorted(policies["policy_id"].astype(str))
    codes = keyword_codes(tokens, ids)
    tfidf = tfidf_matrix(codes, params)
    usable = np.asarray(tfidf.getnnz(axis=1) > 0)
    used_ids = [i for i, u in zip(ids, usable) if u]
    x_tfidf = tfidf[np.flatnonzero(usable)]
    evidence = select_k(x_tfidf, params)
    table = evidence.table
    k = int(table.loc[table["chosen"], "k"].iloc[0])
    weak = not bool(table["supported"].any())
    note = str(table.loc[table["chosen"], "note"].iloc[0])

    final = _assign(evidence.x, evidence.rows, evidence.consensus[k])
    final = _renumber(final, used_ids)
    all_clusters = np.full(len(ids), UNCLUSTERED, dtype=np.int64)
    all_clusters[usable] = final
    terms = cluster_terms(codes, all_clusters, params.top_terms)
    label_of = _labels(terms)
    label_of[UNCLUSTERED] = UNCLUSTERED_LABEL
    terms.insert(1, "label", terms["cluster"].map(label_of))

    confidence = np.zeros(len(ids))
    distance = np.ones(len(ids))
    confidence[usable] = _confidence(final, evidence.all_rows(k))
    distance[usable] = _distances(evidence.x, final)
    clusters = pd.DataFrame(
        {
            "policy_id": ids,
            "cluster": all_clusters,
            "label": [label_of[c] for c in all_clusters],
            "confidence": np.round(confidence, 6),
            "distance": np.round(distance, 6),
        }
    )
    for col in ("silhouette", "null_silhouette", "null_sd", "silhouette_z", "silhouette_excess", "stability", "stability_sd", "consensus_silhouette"):
        table[col] = table[col].round(6)
    return ClusterResult(
        clusters=clusters,
        terms=terms,
        k_selection=table,
        by_year=cluster_by_year(clusters, policies),
        k=k,
        weak=weak,
        note=note,
        embedding=evidence.x,
        policy_ids=used_ids,
    )


# ---------------------------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis clusters``."""
    d = ClusterParams()
    parser.add_argument("data_dir", nargs="?", type=Path, default=config.PROCESSED_DIR, help="folder with policies.csv and tokens.parquet; clusters.csv is written here")
    parser.add_argument("--tables-dir", type=Path, default=config.TABLES_DIR, help="where cluster_terms.csv, cluster_k_selection.csv and cluster_by_year.csv go")
    parser.add_argument("--figures-dir", type=Path, default=config.FIGURES_DIR, help="where the cluster_*.png/.svg figures go")
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")
    parser.add_argument("--k-min", type=int, default=d.k_min, help="smallest number of clusters tried")
    parser.add_argument("--k-max", type=int, default=d.k_max, help="largest number of clusters tried (capped to policies - 1)")
    parser.add_argument("--seeds", type=int, default=d.seeds, help="resampled KMeans runs per k for the stability estimate (>= 2)")
    parser.add_argument("--random-state", type=int, default=d.random_state, help="seed of every random step (same seed, same bytes)")
    parser.add_argument("--min-df", type=int, default=d.min_df, help="a term must occur in at least this many policies")
    parser.add_argument("--lsa-components", type=int, default=None, help="LSA dimensions (default about policies/3, at most 100; 0 = none)")
    parser.add_argument("--stability-min", type=float, default=d.stability_min, help="mean pairwise ARI a k needs to count as stable")
    parser.add_argument("--z-min", type=float, default=d.z_min, help="how many null sds the silhouette must clear")
    parser.add_argument("--null-draws", type=int, default=d.null_draws, help="column-permuted corpora for the silhouette null")
    parser.add_argument("--top-terms", type=int, default=d.top_terms, help="terms listed per cluster")


def params_from_args(args: argparse.Namespace) -> ClusterParams:
    """The :class:`ClusterParams` named by parsed command-line options (validated)."""
    params = replace(
        ClusterParams(),
        k_min=args.k_min,
        k_max=args.k_max,
        seeds=args.seeds,
        random_state=args.random_state,
        min_df=args.min_df,
        lsa_components=args.lsa_components,
        stability_min=args.stability_min,
        z_min=args.z_min,
        null_draws=args.null_draws,
        top_terms=args.top_terms,
    )
    if params.k_min < 2 or params.k_max < params.k_min:
        raise SystemExit("clusters: need 2 <= --k-min <= --k-max")
    if params.seeds < 2 or params.null_draws < 2 or params.min_df < 1 or params.top_terms < 1:
        raise SystemExit("clusters: --seeds and --null-draws must be >= 2, --min-df and --top-terms >= 1")
    return params


def run(args: argparse.Namespace) -> int:
    """Read DIR's tables, cluster, write clusters.csv, the tables and (unless --no-figures) figures."""
    params = params_from_args(args)
    data_dir = Path(args.data_dir)
    policies = read_policy_columns(data_dir, ("policy_id", "year"))
    tokens = read_keyword_token_codes(data_dir)  # keyword rows only, dictionary-encoded
    try:
        result = cluster_policies(tokens, policies, params)
    except ValueError as err:
        raise InputError(data_dir / config.TOKENS_FILE, str(err)) from None

    tables = Path(args.tables_dir)
    outputs = {
        data_dir / config.CLUSTERS_FILE: result.clusters,
        tables / "cluster_terms.csv": result.terms,
        tables / "cluster_k_selection.csv": result.k_selection,
        tables / "cluster_by_year.csv": result.by_year,
    }
    schemas = dict(zip(outputs, (CLUSTERS, CLUSTER_TERMS, CLUSTER_K_SELECTION, CLUSTER_BY_YEAR)))
    write_tables(outputs, schemas)
    if not args.no_figures:
        _write_figures(result, Path(args.figures_dir))

    print(result.k_selection[["k", "silhouette", "null_silhouette", "silhouette_z", "stability", "supported", "chosen"]].to_string(index=False))
    print(f"k = {result.k}: {result.note}")
    for c, label in result.clusters.drop_duplicates("cluster").sort_values("cluster")[["cluster", "label"]].itertuples(index=False):
        n = int((result.clusters["cluster"] == c).sum())
        print(f"  cluster {c} ({n} policies): {label}")
    return 0


def _write_figures(result: ClusterResult, out_dir: Path) -> None:
    import matplotlib.pyplot as plt

    from .plots import apply_style, save_figure
    from .plots import clusters as plots

    apply_style()
    for name, fig in plots.all_figures(result).items():
        save_figure(fig, name, out_dir)
        plt.close(fig)
