"""Figures of the issuer analysis: counts, counts by year, the joint-issuance network, citations.

Each function takes the tables of :mod:`analysis.issuers` and returns a Figure; nothing is written
here. Colours follow the body's level in every figure, so a reader learns them once.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from . import apply_style

# Bodies beyond this many are summed into one 其他 band of the by-year chart (a legend of 20 colours
# cannot be read).
TOP_ISSUERS_BY_YEAR = 8
OTHER_LABEL = "其他"
# Titles on the citation timeline are cut to this many characters.
_TITLE_CHARS = 22


def level_colours(levels: Sequence[str]) -> dict[str, tuple]:
    """A fixed colour per level: levels in the given order take the tab10 palette in turn."""
    palette = plt.get_cmap("tab10").colors
    ordered = list(dict.fromkeys(levels))
    return {lvl: palette[i % len(palette)] for i, lvl in enumerate(ordered)}


def _level_order(counts: pd.DataFrame) -> list[str]:
    """Levels by the number of policies their bodies issued (most first), then by name."""
    totals = counts.groupby("level")["total"].sum()
    return sorted(totals.index, key=lambda lvl: (-int(totals[lvl]), lvl))


def _short(text: str, n: int = _TITLE_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def plot_issuer_counts(counts: pd.DataFrame) -> Figure:
    """Horizontal bars, bodies ranked by policies issued: solid = as lead, hatched = as joint issuer."""
    apply_style()
    colours = level_colours(_level_order(counts))
    n = len(counts)
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.38 * n + 1.2)))
    y = np.arange(n)[::-1]
    col = [colours[lvl] for lvl in counts["level"]]
    ax.barh(y, counts["lead"], color=col, edgecolor="white")
    ax.barh(y, counts["joint"], left=counts["lead"], color=col, alpha=0.45, hatch="///", edgecolor="white")
    for yi, total in zip(y, counts["total"]):
        ax.text(total + 0.1, yi, str(int(total)), va="center", fontsize=9)
    ax.set_yticks(y, counts["issuer"])
    ax.set_xlabel("政策數")
    ax.set_title("發文機關：牽頭與聯合發文數")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max(1, counts["total"].max()) * 1.12)
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=colours[lvl], label=lvl) for lvl in colours]
    handles += [Patch(facecolor="grey", label="牽頭"), Patch(facecolor="grey", alpha=0.45, hatch="///", label="聯合")]
    ax.legend(handles=handles, loc="lower right", fontsize=9, title="層級 / 角色", title_fontsize=9)
    fig.tight_layout()
    return fig


def plot_issuer_by_year(by_year: pd.DataFrame, counts: pd.DataFrame) -> Figure:
    """Stacked bars per year: policies (co-)issued by the leading bodies, the rest as 其他."""
    apply_style()
    top = list(counts["issuer"][:TOP_ISSUERS_BY_YEAR])
    df = by_year.assign(issuer=by_year["issuer"].where(by_year["issuer"].isin(top), OTHER_LABEL))
    table = df.pivot_table(index="year", columns="issuer", values="policies", aggfunc="sum", fill_value=0)
    if len(table.index):
        table = table.reindex(range(int(table.index.min()), int(table.index.max()) + 1), fill_value=0)
    order = [i for i in top if i in table.columns] + ([OTHER_LABEL] if OTHER_LABEL in table.columns else [])
    table = table[order]
    # tab10 without its grey, which is reserved for 其他.
    colours = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i != 7]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    bottom = np.zeros(len(table))
    for k, issuer in enumerate(order):
        colour = "#bbbbbb" if issuer == OTHER_LABEL else colours[k % len(colours)]
        ax.bar(table.index, table[issuer], bottom=bottom, color=colour, label=issuer, edgecolor="white", width=0.7)
        bottom += table[issuer].to_numpy()
    for x, total in zip(table.index, bottom):
        if total:
            ax.text(x, total + 0.15, str(int(total)), ha="center", fontsize=9)
    ax.set_xticks(table.index, [str(y) for y in table.index])
    ax.set_xlabel("年份")
    ax.set_ylabel("發文機關參與次數")
    ax.set_title("各年發文機關（聯合發文按每個機關各計一次）")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, max(1, bottom.max() if len(bottom) else 1) * 1.12)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def _network_layout(graph, seed: int) -> dict:
    """Each connected group of bodies by a seeded spring layout, groups side by side (largest first),
    and the bodies that never co-issued in rows beneath them.

    Laying out groups separately keeps a sparse network compact: one spring layout of several
    components pushes them to the corners and leaves the middle empty.
    """
    import networkx as nx

    groups = sorted((sorted(c) for c in nx.connected_components(graph) if len(c) > 1), key=lambda c: (-len(c), c[0]))
    isolated = sorted(n for n in graph.nodes if graph.degree(n) == 0)
    per_row = max(1, min(3, len(groups)))
    pos: dict = {}
    for i, members in enumerate(groups):
        row, col = divmod(i, per_row)
        sub = nx.Graph()
        sub.add_nodes_from(members)  # name order: the layout must not depend on insertion order
        sub.add_edges_from(sorted(graph.subgraph(members).edges(data=True)))
        local = nx.spring_layout(sub, seed=seed, weight=None, scale=1.0)
        for name, xy in local.items():
            pos[name] = np.array([3.0 * col + float(xy[0]), -3.0 * row + float(xy[1])])
    width = 3.0 * (per_row - 1) + 2.0 if groups else 4.0
    left = -1.0
    top = -3.0 * ((len(groups) - 1) // per_row if groups else 0) - 1.9
    # At least 1.5 units between isolated bodies, so their labels (up to ~10 characters) do not touch.
    per_line = max(1, min(len(isolated), max(6, int(width // 1.5))))
    step = max(1.5, width / per_line)
    start = left + (width - step * (per_line - 1)) / 2
    for i, name in enumerate(isolated):
        row, col = divmod(i, per_line)
        pos[name] = np.array([start + step * col, top - 1.0 * row])
    return pos


def plot_issuer_network(edges: pd.DataFrame, counts: pd.DataFrame, seed: int = 7) -> Figure:
    """The joint-issuance network: node size = policies issued, edge width = policies co-issued.

    Bodies that never co-issued stand in a row below the network, so every body of ``counts`` shows.
    """
    import networkx as nx

    from ..issuers import issuer_graph

    apply_style()
    graph = issuer_graph(edges, counts["issuer"])
    pos = _network_layout(graph, seed)
    colours = level_colours(_level_order(counts))
    info = counts.set_index("issuer")
    nodes = sorted(graph.nodes)
    # Height follows the layout's extent so a sparse network is not lost in white space.
    ys = [p[1] for p in pos.values()] or [0.0]
    fig, ax = plt.subplots(figsize=(10, min(10.0, max(4.0, 1.6 * (max(ys) - min(ys)) + 2.5))))
    edge_list = sorted(graph.edges(data="weight"))
    if edge_list:
        nx.draw_networkx_edges(graph, pos, edgelist=[(a, b) for a, b, _ in edge_list], width=[1.5 + 2.5 * w for _, _, w in edge_list], edge_color="#8c8c8c", alpha=0.7, ax=ax)
        nx.draw_networkx_edge_labels(graph, pos, edge_labels={(a, b): str(w) for a, b, w in edge_list}, font_size=9, font_family=plt.rcParams["font.sans-serif"][0], ax=ax, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    sizes = [250 + 180 * int(info.at[n, "total"]) if n in info.index else 250 for n in nodes]
    node_colours = [colours.get(info.at[n, "level"], "grey") if n in info.index else "grey" for n in nodes]
    nx.draw_networkx_nodes(graph, pos, nodelist=nodes, node_size=sizes, node_color=node_colours, edgecolors="white", linewidths=1.0, ax=ax)
    for n in nodes:
        x, y = pos[n]
        ax.annotate(n, (x, y), xytext=(0, -14 - 0.25 * (sizes[nodes.index(n)] ** 0.5)), textcoords="offset points", ha="center", va="top", fontsize=9, bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    handles = [Patch(color=colours[lvl], label=lvl) for lvl in colours]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, title="層級", title_fontsize=9, frameon=False)
    if any(graph.degree(n) == 0 for n in nodes) and edge_list:
        ys = [pos[n][1] for n in nodes if graph.degree(n) == 0]
        xs = [p[0] for p in pos.values()]
        ax.text((min(xs) + max(xs)) / 2, max(ys) + 0.45, "未與其他機關聯合發文：", ha="center", fontsize=10, color="#555555")
    ax.set_title("聯合發文網絡（節點大小 = 發文數，連線粗細 = 聯合發文數）")
    ax.margins(0.12)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def plot_policy_citations(citations: pd.DataFrame, policies: pd.DataFrame) -> Figure:
    """Policies on a timeline (corpus order, grouped by year) with citations as arcs.

    An arc joins a citing policy to the corpus policy it names; grey bars below a policy count the
    documents it names that lie outside the corpus.
    """
    apply_style()
    order = policies.sort_values("policy_id", kind="stable").reset_index(drop=True)
    x_of = {pid: i for i, pid in enumerate(order["policy_id"])}
    inside = citations[citations["cited_policy_id"] != ""]
    outside = citations[citations["cited_policy_id"] == ""].groupby("citing_policy_id").size()
    fig, ax = plt.subplots(figsize=(11, 4.8))
    ax.scatter(range(len(order)), np.zeros(len(order)), s=28, color="#4c72b0", zorder=3)
    top = 1.0
    for citing, cited in sorted(zip(inside["citing_policy_id"], inside["cited_policy_id"])):
        x0, x1 = x_of[cited], x_of[citing]
        span = abs(x1 - x0)
        height = 0.4 + 0.12 * span
        top = max(top, height)
        t = np.linspace(0, np.pi, 60)
        # The arc starts at the cited policy (t = 0) and ends at the citing one; the head marks the cited.
        xs = (x0 + x1) / 2 + (x1 - x0) / 2 * -np.cos(t)
        ys = height * np.sin(t)
        ax.plot(xs, ys, color="#c44e52", lw=1.6, zorder=2)
        ax.annotate("", xy=(xs[0], ys[0] + 0.02), xytext=(xs[4], ys[4]), arrowprops={"arrowstyle": "-|>", "color": "#c44e52", "lw": 1.6})
    labelled = sorted(set(inside["citing_policy_id"]) | set(inside["cited_policy_id"]))
    label_y = -0.02 - 0.12 * (int(outside.max()) if len(outside) else 0) - 0.04
    title_of = order.set_index("policy_id")["title"]
    for k, pid in enumerate(labelled):
        ax.annotate(_short(f"{pid} {title_of[pid]}"), (x_of[pid], label_y), xytext=(0, -4), textcoords="offset points", rotation=90, ha="center", va="top", fontsize=8)
    for pid, n in outside.items():
        ax.bar(x_of[pid], -0.12 * n, bottom=-0.02, width=0.5, color="#999999", zorder=1)
    # Year boundaries and labels along the top.
    years = order["year"].to_numpy()
    for i in range(1, len(years)):
        if years[i] != years[i - 1]:
            ax.axvline(i - 0.5, color="#dddddd", lw=1, zorder=0)
    for year in sorted(set(years)):
        idx = np.nonzero(years == year)[0]
        ax.text(idx.mean(), top * 1.12, str(year), ha="center", fontsize=9, color="#555555")
    ax.set_xlim(-0.8, len(order) - 0.2)
    ax.set_ylim(-max(1.2, 0.12 * (outside.max() if len(outside) else 0) + 1.0), top * 1.25)
    ax.set_yticks([])
    ax.set_xticks([])
    ax.grid(False)
    n_in, n_out = len(inside), int(outside.sum()) if len(outside) else 0
    ax.set_title(f"政策引用（紅弧：引用本彙編內政策 {n_in} 次；灰柱：引用彙編外文件 {n_out} 次）")
    for side in ("left", "right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def all_figures(tables: dict[str, pd.DataFrame], policies: pd.DataFrame, registry=None) -> dict[str, Figure]:
    """Every figure of the issuer step, keyed by file name (without extension)."""
    counts = tables["issuer_counts"]
    return {
        "issuer_counts": plot_issuer_counts(counts),
        "issuer_by_year": plot_issuer_by_year(tables["issuer_by_year"], counts),
        "issuer_network": plot_issuer_network(tables["issuer_edges"], counts),
        "policy_citations": plot_policy_citations(tables["policy_citations"], policies),
    }
