"""Issuing bodies: counts by level and role, by year, the joint-issuance network, and citations.

Reads ``policies.csv`` and ``policy_issuers.csv`` of a processed-data folder and writes
``issuer_counts.csv``, ``issuer_by_year.csv``, ``issuer_edges.csv``, ``issuer_centrality.csv``,
``doc_prefixes.csv`` and ``policy_citations.csv`` to the tables folder, and the figures
``issuer_counts``, ``issuer_by_year``, ``issuer_network`` and ``policy_citations``.

Every function below is a pure function from the tidy tables to a table. Issuers are taken from
``policy_issuers.csv`` as the parser resolved them; nothing here re-derives them from the text, so
the network's edges are exactly the co-issued pairs that table implies.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Protocol

import pandas as pd

from . import config
from .errors import InputError
from .tables import Column, Schema, read_input_table

ISSUER_COUNTS = Schema(
    "issuer_counts",
    (
        Column("issuer", "str", unique=True),
        Column("level", "str"),
        Column("lead", "int", description="policies the body issued as lead (first-named) body"),
        Column("joint", "int", description="policies the body co-issued as a non-lead body"),
        Column("total", "int", description="lead + joint"),
        Column("first_year", "int"),
        Column("last_year", "int"),
    ),
)
ISSUER_BY_YEAR = Schema(
    "issuer_by_year",
    (Column("issuer", "str"), Column("year", "int"), Column("policies", "int")),
    unique_together=("issuer", "year"),
)
ISSUER_EDGES = Schema(
    "issuer_edges",
    (
        Column("issuer_a", "str"),
        Column("issuer_b", "str"),
        Column("weight", "int", description="number of policies the two bodies issued together"),
        Column("policy_ids", "str", description="those policies, joined with ;"),
    ),
    unique_together=("issuer_a", "issuer_b"),
)
ISSUER_CENTRALITY = Schema(
    "issuer_centrality",
    (
        Column("issuer", "str", unique=True),
        Column("degree", "int", description="number of distinct co-issuers"),
        Column("weighted_degree", "int", description="sum of edge weights (co-issued policy-partner pairs)"),
        Column("betweenness", "float", description="normalised betweenness centrality (unweighted shortest paths)"),
    ),
)
DOC_PREFIXES = Schema(
    "doc_prefixes",
    (
        Column("prefix", "str", unique=True),
        Column("issuer", "str", description="the body the registry maps the prefix to; empty when unknown"),
        Column("policies", "int"),
    ),
)

TABLE_FILES = {
    "issuer_counts": "issuer_counts.csv",
    "issuer_by_year": "issuer_by_year.csv",
    "issuer_edges": "issuer_edges.csv",
    "issuer_centrality": "issuer_centrality.csv",
    "doc_prefixes": "doc_prefixes.csv",
    "policy_citations": "policy_citations.csv",
}


class IssuerRegistry(Protocol):
    """What this module needs of :mod:`analysis.registry`'s registry."""

    def level(self, canonical: str) -> str: ...

    def issuer_for_prefix(self, prefix: str) -> str | None: ...


def _with_years(policy_issuers: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """``policy_issuers`` with each policy's year; a policy id missing from ``policies`` is an error."""
    years = policies.set_index("policy_id")["year"]
    unknown = sorted(set(policy_issuers["policy_id"]) - set(years.index))
    if unknown:
        raise ValueError(f"policy_issuers names policies absent from policies: {', '.join(unknown[:5])}")
    out = policy_issuers.copy()
    out["year"] = out["policy_id"].map(years).astype("int64")
    return out


def issuer_counts(policy_issuers: pd.DataFrame, policies: pd.DataFrame, registry: IssuerRegistry | None = None) -> pd.DataFrame:
    """One row per issuing body: level, policies as lead, as joint, in all, first and last year.

    ``level`` is the one recorded in ``policy_issuers``; when that is empty and a ``registry`` is
    given, the registry's level is used. Sorted by total (descending), then lead, then name, so
    ``total`` sums to the number of rows of ``policy_issuers``.
    """
    df = _with_years(policy_issuers, policies)
    grouped = df.groupby("issuer", sort=True)
    out = pd.DataFrame(
        {
            "level": grouped["level"].agg(lambda s: next((v for v in s if v), "")),
            "lead": grouped["role"].agg(lambda s: int((s == "lead").sum())),
            "joint": grouped["role"].agg(lambda s: int((s == "joint").sum())),
            "first_year": grouped["year"].min(),
            "last_year": grouped["year"].max(),
        }
    ).reset_index()
    if registry is not None:
        out["level"] = [lvl or (registry.level(name) or "") for name, lvl in zip(out["issuer"], out["level"])]
    out["total"] = out["lead"] + out["joint"]
    out = out.sort_values(["total", "lead", "issuer"], ascending=[False, False, True], kind="stable")
    return out[ISSUER_COUNTS.names].reset_index(drop=True)


def issuer_by_year(policy_issuers: pd.DataFrame, policies: pd.DataFrame) -> pd.DataFrame:
    """Long table ``issuer, year, policies``: how many policies each body (co-)issued each year.

    Only non-zero cells are listed; ``policies`` sums to the number of rows of ``policy_issuers``.
    """
    df = _with_years(policy_issuers, policies)
    out = df.groupby(["issuer", "year"], sort=True).size().rename("policies").reset_index()
    out = out.sort_values(["year", "issuer"], kind="stable")
    return out[ISSUER_BY_YEAR.names].reset_index(drop=True)


def issuer_edges(policy_issuers: pd.DataFrame) -> pd.DataFrame:
    """Every unordered pair of bodies that co-issued at least one policy, with its weight.

    ``issuer_a < issuer_b`` by code-point order; ``weight`` is the number of policies both issued;
    ``policy_ids`` lists them (``;``-joined, sorted). Sorted by weight (descending), then the pair.
    """
    weights: Counter[tuple[str, str]] = Counter()
    shared: dict[tuple[str, str], list[str]] = {}
    for policy_id, group in policy_issuers.groupby("policy_id", sort=True):
        for pair in combinations(sorted(set(group["issuer"])), 2):
            weights[pair] += 1
            shared.setdefault(pair, []).append(str(policy_id))
    rows = [(a, b, w, ";".join(sorted(shared[(a, b)]))) for (a, b), w in weights.items()]
    out = pd.DataFrame(rows, columns=ISSUER_EDGES.names)
    out = out.astype({"issuer_a": "str", "issuer_b": "str", "weight": "int64", "policy_ids": "str"})
    out = out.sort_values(["weight", "issuer_a", "issuer_b"], ascending=[False, True, True], kind="stable")
    return out.reset_index(drop=True)


def issuer_graph(edges: pd.DataFrame, issuers: Iterable[str]):
    """The joint-issuance network as an undirected ``networkx.Graph`` (isolated bodies included)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(sorted(set(issuers) | set(edges["issuer_a"]) | set(edges["issuer_b"])))
    for a, b, w in zip(edges["issuer_a"], edges["issuer_b"], edges["weight"]):
        graph.add_edge(a, b, weight=int(w))
    return graph


def issuer_centrality(edges: pd.DataFrame, issuers: Iterable[str]) -> pd.DataFrame:
    """Degree, weighted degree and betweenness of every body in the joint-issuance network.

    ``issuers`` lists every body (those that never co-issued get zeros). Betweenness is networkx's
    normalised betweenness on unweighted shortest paths: a weight counts shared policies, which is
    closeness, not distance, so it must not be read as a path length. Rounded to 6 decimals so the
    file is identical across platforms. Sorted by weighted degree, degree, betweenness, then name.
    """
    import networkx as nx

    graph = issuer_graph(edges, issuers)
    between = nx.betweenness_centrality(graph, normalized=True)
    rows = [(n, int(graph.degree(n)), int(graph.degree(n, weight="weight")), round(float(between[n]), 6)) for n in graph.nodes]
    out = pd.DataFrame(rows, columns=ISSUER_CENTRALITY.names)
    out = out.astype({"issuer": "str", "degree": "int64", "weighted_degree": "int64", "betweenness": "float64"})
    out = out.sort_values(["weighted_degree", "degree", "betweenness", "issuer"], ascending=[False, False, False, True], kind="stable")
    return out.reset_index(drop=True)


def doc_prefixes(policies: pd.DataFrame, registry: IssuerRegistry) -> pd.DataFrame:
    """Each document-number prefix used in ``policies``, the body it maps to, and how many policies.

    The body comes from ``registry.issuer_for_prefix``; empty when the registry does not know the
    prefix (extend the registry's data file to fill it). Policies without a number are not counted.
    """
    used = policies.loc[policies["doc_prefix"].fillna("") != "", "doc_prefix"]
    counts = used.value_counts()
    rows = [(p, registry.issuer_for_prefix(p) or "", int(n)) for p, n in counts.items()]
    out = pd.DataFrame(rows, columns=DOC_PREFIXES.names).astype({"prefix": "str", "issuer": "str", "policies": "int64"})
    out = out.sort_values(["policies", "prefix"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def issuer_tables(policies: pd.DataFrame, policy_issuers: pd.DataFrame, registry: IssuerRegistry) -> dict[str, pd.DataFrame]:
    """Every table of this step, keyed by the names of :data:`TABLE_FILES`."""
    from .citations import policy_citations

    edges = issuer_edges(policy_issuers)
    counts = issuer_counts(policy_issuers, policies, registry)
    return {
        "issuer_counts": counts,
        "issuer_by_year": issuer_by_year(policy_issuers, policies),
        "issuer_edges": edges,
        "issuer_centrality": issuer_centrality(edges, counts["issuer"]),
        "doc_prefixes": doc_prefixes(policies, registry),
        "policy_citations": policy_citations(policies),
    }


def _schemas() -> dict[str, Schema]:
    from .citations import POLICY_CITATIONS

    return {
        "issuer_counts": ISSUER_COUNTS,
        "issuer_by_year": ISSUER_BY_YEAR,
        "issuer_edges": ISSUER_EDGES,
        "issuer_centrality": ISSUER_CENTRALITY,
        "doc_prefixes": DOC_PREFIXES,
        "policy_citations": POLICY_CITATIONS,
    }


# --- CLI ------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis issuers``."""
    parser.add_argument("data_dir", metavar="DIR", nargs="?", type=Path, default=config.PROCESSED_DIR, help=f"processed-data folder holding {config.POLICIES_FILE} and {config.POLICY_ISSUERS_FILE}")
    parser.add_argument("--tables-dir", type=Path, default=config.TABLES_DIR, help="where the CSV tables go")
    parser.add_argument("--figures-dir", type=Path, default=config.FIGURES_DIR, help="where the figures (PNG and SVG) go")
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")
    parser.add_argument("--issuers", type=Path, default=None, metavar="FILE", help="issuer registry CSV to use instead of the bundled one (as for parse)")


def run(args: argparse.Namespace) -> int:
    """Build the issuer tables and figures from ``args.data_dir``."""
    from .registry import load_registry

    policies = read_input_table(args.data_dir, config.POLICIES_FILE)
    policy_issuers = read_input_table(args.data_dir, config.POLICY_ISSUERS_FILE)
    registry = load_registry(args.issuers)
    try:
        tables = issuer_tables(policies, policy_issuers, registry)
    except ValueError as err:
        raise InputError(args.data_dir / config.POLICY_ISSUERS_FILE, str(err)) from None
    schemas = _schemas()
    paths = {name: args.tables_dir / TABLE_FILES[name] for name in tables}
    from .tables import write_tables

    # Figures are drawn before anything is written, so a plotting error leaves no tables behind.
    figures = {}
    if not args.no_figures:
        from .plots import issuers as plots

        figures = plots.all_figures(tables, policies, registry)
    write_tables({paths[n]: df for n, df in tables.items()}, schemas={paths[n]: schemas[n] for n in tables})
    if figures:
        import matplotlib.pyplot as plt

        from .plots import save_figure

        for name, fig in figures.items():
            save_figure(fig, name, args.figures_dir)
            plt.close(fig)
    return 0
