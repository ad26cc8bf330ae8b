"""Keyword frequency by year and keyness tables; counts for named terms.

Inputs are ``tokens.parquet`` (only rows with ``keyword`` true are counted) and ``policies.csv`` (for
each policy's year and, for :func:`count_terms`, its text). Terms are grouped by their Simplified
form, so 雲計算 and 云计算 are one term; each is shown in its most frequent written form, which makes a
Traditional corpus and its Simplified copy give the same counts.

Chunk-friendly: :func:`keyword_counts` counts a chunk of whole policies, :func:`combine_counts` sums
chunks, and both tables are finished from the sum (:func:`keyword_by_year_from_counts`,
:func:`keyness_from_counts`), so the command streams a token file of any size. A policy must not be
split across chunks (``docs`` counts policies).

Normalisation: with a handful of policies in some years, raw counts mostly measure how many
policies a year has. ``share_of_policies`` (docs / policies in the year) is what the trend and
heatmap figures plot; ``per_10k_tokens`` (count per 10,000 keyword tokens of the year) is in the
table for readers who prefer density.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import config
from .errors import InputError
from .progress import progress
from .script import to_simplified
from .tables import Column, Schema, read_policy_columns, to_csv_bytes, validate, write_tables
from .tokens import CACHE_DIRNAME, Segmenter, cached_tokens_path, load_segmenter

KEYWORD_BY_YEAR = Schema(
    "keyword_by_year",
    (
        Column("term", "str", description="the term as most often written in the corpus"),
        Column("year", "int"),
        Column("count", "int", description="occurrences as a keyword token in the year's texts"),
        Column("docs", "int", description="policies of the year with the term"),
        Column("policies_in_year", "int"),
        Column("share_of_policies", "float", description="docs / policies_in_year"),
        Column("per_10k_tokens", "float", description="count per 10,000 keyword tokens of the year"),
        Column("tokens_in_year", "int", description="keyword tokens of the year (the per-10k denominator)"),
    ),
    unique_together=("term", "year"),
)

KEYNESS_BY_YEAR = Schema(
    "keyness_by_year",
    (
        Column("year", "int"),
        Column("direction", "str", allowed=("over", "under"), description="over- or under-represented in the year vs the rest"),
        Column("rank", "int", description="1 = largest G² in this year and direction"),
        Column("term", "str"),
        Column("count_year", "int"),
        Column("count_rest", "int"),
        Column("tokens_year", "int"),
        Column("tokens_rest", "int"),
        Column("g2", "float", description="Dunning log-likelihood G² (1 d.f.)"),
        Column("log_ratio", "float", description="log2 of the relative frequency ratio year/rest, 0.5 added to both counts"),
        Column("p_value", "float", description="chi-square(1) upper tail of G²"),
    ),
    unique_together=("year", "direction", "term"),
)

TERM_COUNTS = Schema(
    "term_counts",
    (
        Column("term", "str", description="the term as the user gave it"),
        Column("year", "int"),
        Column("count", "int", description="non-overlapping occurrences in the year's texts (both scripts)"),
        Column("docs", "int", description="policies of the year containing it"),
        Column("policies_in_year", "int"),
        Column("share_of_policies", "float"),
    ),
)

KEYWORD_BY_YEAR_FILE = "keyword_by_year.csv"
KEYNESS_BY_YEAR_FILE = "keyness_by_year.csv"


# --- summable counts -------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeywordCounts:
    """The counts both keyword tables are finished from; summable across chunks of whole policies.

    ``term_year``: term_key, year, count (keyword tokens), docs (policies); ``forms``: term_key,
    token (a written form), count; ``year_tokens``: year, tokens (keyword tokens in the year).
    """

    term_year: pd.DataFrame
    forms: pd.DataFrame
    year_tokens: pd.DataFrame


def keyword_counts(tokens: pd.DataFrame, policies: pd.DataFrame) -> KeywordCounts:
    """Count the keyword tokens of ``tokens`` (any subset of whole policies) by term and year.

    ``policies`` maps each ``policy_id`` to its ``year`` (it may hold more policies than ``tokens``).
    Policies, written forms and terms are factorised to integer codes and counted with numpy: each
    distinct form is converted to Simplified once and no string is grouped per token, which matters
    on millions of tokens.
    """
    kw = tokens.loc[tokens["keyword"].to_numpy(dtype=bool), ["policy_id", "token"]]
    policy_codes, policy_ids = pd.factorize(kw["policy_id"])
    years = policies.set_index("policy_id")["year"]
    found = years.index.get_indexer(policy_ids)
    if (found < 0).any():
        unknown = sorted(policy_ids[found < 0])
        raise ValueError(f"tokens name policies missing from the policy table: {unknown[:3]}")
    year_values, policy_year = np.unique(years.to_numpy(dtype="int64")[found], return_inverse=True)
    form_codes, forms = pd.factorize(kw["token"], sort=True)
    key_of_form, keys = pd.factorize(pd.Index([to_simplified(f) for f in forms], dtype="str"), sort=True)
    key, year = key_of_form[form_codes].astype("int64"), policy_year[policy_codes]
    n_years, n_policies = max(len(year_values), 1), max(len(policy_ids), 1)
    # (term, year) → tokens; distinct (term, policy) pairs → policies per (term, year), the docs.
    # Both list the same (term, year) pairs in the same order: each pair's tokens are in some policy.
    pairs, count = _unique_counts(key * n_years + year)
    term_policy = _unique_counts(key * n_policies + policy_codes)[0]
    docs = _unique_counts(term_policy // n_policies * n_years + policy_year[term_policy % n_policies])[1]
    term_year = pd.DataFrame({"term_key": keys[pairs // n_years], "year": year_values[pairs % n_years], "count": count, "docs": docs})
    order = np.lexsort((np.arange(len(forms)), key_of_form))  # by term, then form (forms are sorted)
    form_counts = pd.DataFrame({"term_key": keys[key_of_form[order]], "token": forms[order], "count": np.bincount(form_codes, minlength=len(forms))[order]})
    year_count = np.bincount(year, minlength=len(year_values))
    year_tokens = pd.DataFrame({"year": year_values, "tokens": year_count})
    return KeywordCounts(term_year, form_counts, year_tokens)


def _unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_counts=True)`` by one sort (numpy's hash-based unique is several
    times slower on a million codes)."""
    ordered = np.sort(values, kind="stable")
    first = np.flatnonzero(np.diff(ordered, prepend=ordered[:1] - 1)) if len(ordered) else np.zeros(0, dtype=np.int64)
    return ordered[first], np.diff(np.append(first, len(ordered)))


def combine_counts(parts: Iterable[KeywordCounts]) -> KeywordCounts:
    """Sum the counts of chunks that never split a policy (``docs`` counts policies)."""
    parts = list(parts)
    if not parts:
        raise ValueError("no counts to combine")

    def total(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True).groupby(keys, sort=True).sum().reset_index()

    return KeywordCounts(
        total([p.term_year for p in parts], ["term_key", "year"]),
        total([p.forms for p in parts], ["term_key", "token"]),
        total([p.year_tokens for p in parts], ["year"]),
    )


def display_forms(forms: pd.DataFrame) -> pd.Series:
    """term_key → the term's most frequent written form (ties: the smallest string, for determinism),
    from rows of ``term_key``, ``token`` (a written form) and ``count``."""
    ordered = forms.sort_values(["term_key", "count", "token"], ascending=[True, False, True])
    return ordered.drop_duplicates("term_key").set_index("term_key")["token"]


# --- finished tables -------------------------------------------------------------------------------

def keyword_by_year_from_counts(counts: KeywordCounts, policies: pd.DataFrame) -> pd.DataFrame:
    """Finish :func:`keyword_by_year` from (summed) counts; ``policies`` gives the policies per year."""
    policies_in_year = policies.groupby("year").size()
    tokens_in_year = counts.year_tokens.set_index("year")["tokens"]
    df = counts.term_year.copy()
    df["term"] = df["term_key"].map(display_forms(counts.forms))
    df["policies_in_year"] = df["year"].map(policies_in_year).astype("int64")
    df["tokens_in_year"] = df["year"].map(tokens_in_year).astype("int64")
    df["share_of_policies"] = df["docs"] / df["policies_in_year"]
    df["per_10k_tokens"] = df["count"] * 10_000 / df["tokens_in_year"]
    df = df.sort_values(["year", "docs", "count", "term_key"], ascending=[True, False, False, True])
    return validate(df.drop(columns="term_key"), KEYWORD_BY_YEAR, "keyword_by_year")


def keyword_by_year(tokens: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """Keyword counts per (term, year) with both normalisations (see the module docstring).

    One row per term and year in which it occurs as a keyword token; sorted by year, then docs and
    count (descending), then term. ``policies`` needs ``policy_id`` and ``year``.
    """
    return keyword_by_year_from_counts(keyword_counts(tokens, policies), policies)


def log_likelihood_g2(a: float, b: float, c: float, d: float) -> float:
    """Dunning's G² for a term seen ``a`` times in ``c`` tokens and ``b`` times in ``d`` tokens."""
    total = c + d
    e1 = c * (a + b) / total
    e2 = d * (a + b) / total
    g2 = 0.0
    for obs, exp in ((a, e1), (b, e2)):
        if obs > 0:
            g2 += obs * math.log(obs / exp)
    return 2.0 * g2


def keyness_by_year(
    tokens: pd.DataFrame,
    policies: pd.DataFrame,
    top_n: int = 15,
    min_count: int = 3,
    max_p: float = 1.0,
) -> pd.DataFrame:
    """Each year's most over- and under-represented terms (see :func:`keyness_from_counts`)."""
    return keyness_from_counts(keyword_counts(tokens, policies), top_n, min_count, max_p)


def keyness_from_counts(
    counts: KeywordCounts,
    top_n: int = 15,
    min_count: int = 3,
    max_p: float = 1.0,
) -> pd.DataFrame:
    """For each year, the terms most over- and under-represented against all other years together.

    Statistic: Dunning's log-likelihood G² on the 2×2 table (term vs other keyword tokens, year vs
    rest), with the log ratio (log2 of the relative-frequency ratio) as
    the effect size (0.5 added to both counts so a zero count gives a finite value) and the
    chi-square(1) tail as p-value. Rows whose log ratio points against their direction (an absent
    term in a year of very few tokens) are dropped. Why G²: counts here are small (a few
    dozen policies), and Pearson's χ² overstates significance when expected counts are below ~5,
    whereas G² (Dunning 1993) stays usable for rare terms; it ranks by evidence, and the log ratio
    says how large the difference is, so a reader can tell a frequent mild difference from a rare
    extreme one. p-values are only indicative: tokens are not independent draws and many terms are
    tested (no multiple-testing correction). Terms with fewer than ``min_count`` occurrences in the
    whole corpus are skipped (with 1–2 occurrences no test says anything). With a single year there
    is no "rest" and the table is empty.

    Returns up to ``top_n`` rows per (year, direction) with ``p_value <= max_p``, ranked by G²
    (descending), then |log ratio|, then term: a deterministic order.
    """
    forms = display_forms(counts.forms)
    table = counts.term_year.pivot_table(index="term_key", columns="year", values="count", aggfunc="sum", fill_value=0)
    rows: list[dict[str, object]] = []
    years = sorted(table.columns) if len(table) else []
    if len(years) >= 2:
        table = table[table.sum(axis=1) >= min_count]
        year_tokens = counts.year_tokens.set_index("year")["tokens"]
        row_totals = table.sum(axis=1)
        grand = int(year_tokens.sum())
        for year in years:
            c = int(year_tokens.get(year, 0))
            d = grand - c
            if c == 0 or d == 0:
                continue
            for key, a in table[year].items():
                a = int(a)
                b = int(row_totals[key]) - a
                g2 = log_likelihood_g2(a, b, c, d)
                lr = math.log2(((a + 0.5) / c) / ((b + 0.5) / d))
                rows.append(
                    {
                        "year": int(year),
                        "direction": "over" if a / c > b / d else "under",
                        "term_key": key,
                        "term": forms[key],
                        "count_year": a,
                        "count_rest": b,
                        "tokens_year": c,
                        "tokens_rest": d,
                        "g2": g2,
                        "log_ratio": lr,
                        "p_value": math.erfc(math.sqrt(g2 / 2.0)),  # chi-square(1) survival function
                    }
                )
    cols = KEYNESS_BY_YEAR.names
    if not rows:
        return validate(pd.DataFrame({c: pd.Series(dtype="object") for c in cols}), KEYNESS_BY_YEAR, "keyness_by_year")
    df = pd.DataFrame(rows)
    # In a year with very few tokens a term can be absent yet have a positive smoothed log ratio: such a
    # row says nothing, so a row is kept only when its effect size points the way its direction does.
    agrees = (df["log_ratio"] > 0) == (df["direction"] == "over")
    df = df[(df["g2"] > 0) & (df["p_value"] <= max_p) & agrees]
    df = df.assign(abs_lr=df["log_ratio"].abs()).sort_values(
        ["year", "direction", "g2", "abs_lr", "term_key"], ascending=[True, True, False, False, True]
    )
    df = df.groupby(["year", "direction"], sort=False).head(top_n)
    df["rank"] = df.groupby(["year", "direction"]).cumcount() + 1
    return validate(df[cols], KEYNESS_BY_YEAR, "keyness_by_year")


def count_terms(policies: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    """True occurrences of each named term in each year's policy texts, whatever the segmentation.

    Text and term are both compared in Simplified script (``to_simplified``), so a term given in
    either script matches texts in either script. ``count`` is the number of non-overlapping
    occurrences (``str.count``), ``docs`` the number of policies containing the term. Every
    (term, year) pair is returned, zeros included, in the order the terms were given, then by year.
    """
    terms = [t for t in terms if t]
    simplified = [to_simplified(t) if isinstance(t, str) else "" for t in policies["text"]]
    years = policies["year"].to_numpy()
    per_year = policies.groupby("year").size()
    rows = []
    for term in terms:
        key = to_simplified(term)
        occ = pd.Series([s.count(key) for s in simplified], dtype="int64")
        by_year = pd.DataFrame({"year": years, "n": occ}).groupby("year")["n"]
        counts, docs = by_year.sum(), by_year.apply(lambda s: int((s > 0).sum()))
        for year in sorted(per_year.index):
            n_pol = int(per_year[year])
            rows.append((term, int(year), int(counts.get(year, 0)), int(docs.get(year, 0)), n_pol, int(docs.get(year, 0)) / n_pol))
    return validate(pd.DataFrame(rows, columns=TERM_COUNTS.names), TERM_COUNTS, "term_counts")


# --- CLI -------------------------------------------------------------------------------------------

def count_token_file(path: str | Path, policies: pd.DataFrame) -> KeywordCounts:
    """:func:`keyword_counts` of a whole ``tokens.parquet``, read in chunks of whole policies, so
    memory stays bounded however many tokens the file holds. Bad files raise :class:`InputError`."""
    from .engine import iter_policy_chunks

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file (run 'python -m analysis tokens' first)")
    try:
        chunks = iter_policy_chunks(path, columns=["token"], where="keyword")
        return combine_counts(keyword_counts(chunk, policies) for chunk in progress(chunks, desc="counting keywords", unit="chunk"))
    except (ValueError, OSError, KeyError) as err:  # pyarrow errors derive from these
        raise InputError(path, str(err).splitlines()[0] if str(err) else type(err).__name__) from None


def default_trend_terms(by_year: pd.DataFrame, segmenter: Segmenter | None = None, n: int = 8) -> list[str]:
    """The terms ``keyword_trends.png`` shows unless told otherwise (the CLI and notebook 02 agree).

    The domain dictionary's terms in most policies first (the ideas whose rise and fall the figure
    is for), then the most widespread other terms: a rule, so every corpus gets its own terms.
    """
    from .plots.keywords import top_terms_by_docs

    segmenter = segmenter or load_segmenter()
    return top_terms_by_docs(by_year, n, prefer=[e.word for e in segmenter.entries])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis keywords``."""
    parser.add_argument("dir", nargs="?", type=Path, default=config.PROCESSED_DIR, help="folder with policies.csv and tokens.parquet")
    parser.add_argument("--tables-dir", type=Path, default=config.TABLES_DIR, help="where keyword_by_year.csv and keyness_by_year.csv go")
    parser.add_argument("--figures-dir", type=Path, default=config.FIGURES_DIR, help="where keyword_trends, keyword_heatmap and keyness_by_year (.png, .svg) go")
    parser.add_argument(
        "--terms",
        default=None,
        help="comma-separated terms (either script, any string): print term,year,count,docs,… CSV rows of their true occurrences to stdout and write nothing",
    )
    parser.add_argument("--trend-terms", default=None, help="comma-separated terms for keyword_trends.png (default: the dictionary terms in most policies, then other terms)")
    parser.add_argument("--userdict", type=Path, default=None, help="extra user dictionary; when given (or --stopwords), tokens are re-segmented (cached in DIR/.cache) instead of read from tokens.parquet")
    parser.add_argument("--stopwords", type=Path, default=None, help="extra stopword list (one word a line), see --userdict")


def run(args: argparse.Namespace) -> int:
    """Write the keyword tables and figures, or print counts for ``--terms``."""
    data_dir = Path(args.dir)
    # --terms searches the texts; the tables need each policy's year (and a re-segmentation its text)
    resegment = args.userdict is not None or args.stopwords is not None
    policies = read_policy_columns(data_dir, ["policy_id", "year", "text"] if args.terms is not None or resegment else ["policy_id", "year"])
    if args.terms is not None:
        terms = [t.strip() for t in args.terms.split(",") if t.strip()]
        if not terms:
            raise InputError("--terms", "no terms given")
        sys.stdout.write(to_csv_bytes(count_terms(policies, terms)).decode("utf-8-sig"))
        return 0
    segmenter = load_segmenter(args.userdict, args.stopwords)
    if resegment:
        tokens_path = cached_tokens_path(policies, segmenter, data_dir / CACHE_DIRNAME)
    else:
        tokens_path = data_dir / config.TOKENS_FILE
    counts = count_token_file(tokens_path, policies)
    by_year = keyword_by_year_from_counts(counts, policies)
    keyness = keyness_from_counts(counts)

    from .plots import apply_style, save_figure
    from .plots.keywords import plot_keyness, plot_keyword_heatmap, plot_keyword_trends

    import matplotlib.pyplot as plt

    apply_style()
    if args.trend_terms:
        trend_terms = [t.strip() for t in args.trend_terms.split(",") if t.strip()]
    else:
        trend_terms = default_trend_terms(by_year, segmenter)
    figures = {
        "keyword_trends": plot_keyword_trends(by_year, terms=trend_terms),
        "keyword_heatmap": plot_keyword_heatmap(by_year),
        "keyness_by_year": plot_keyness(keyness),
    }
    tables_dir = Path(args.tables_dir)
    write_tables(
        {tables_dir / KEYWORD_BY_YEAR_FILE: by_year, tables_dir / KEYNESS_BY_YEAR_FILE: keyness},
        schemas={tables_dir / KEYWORD_BY_YEAR_FILE: KEYWORD_BY_YEAR, tables_dir / KEYNESS_BY_YEAR_FILE: KEYNESS_BY_YEAR},
    )
    for name, fig in figures.items():
        save_figure(fig, name, args.figures_dir)
        plt.close(fig)
    return 0
