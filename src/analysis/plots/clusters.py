"""Figures of the topic clusters: evidence for k, a 2-D map, clusters by year, top terms.

Each function takes tables (or the :class:`~analysis.clusters.ClusterResult`) and returns a Figure;
nothing here writes files (``analysis.plots.save_figure`` does).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:  # pragma: no cover
    from ..clusters import ClusterResult

_PALETTE = "tab10"
# Above this many policies the map's points are drawn as one raster image inside the SVG (200,000
# vector markers make a file of hundreds of MB that takes a quarter of a minute to write; the PNG is the
# same) and its axes come from the small covariance matrix rather than an SVD of every row.
LARGE_MAP = 5_000
_READABLE_POINTS = 500  # up to this many policies the map draws full-size opaque markers


def _colours(n: int) -> list:
    cmap = plt.get_cmap(_PALETTE if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _cluster_names(labels: pd.Series, clusters: pd.Series) -> dict[int, str]:
    pairs = pd.DataFrame({"cluster": clusters, "label": labels}).drop_duplicates("cluster").sort_values("cluster")
    return {int(c): f"{c}：{l}" for c, l in zip(pairs["cluster"], pairs["label"])}


def k_selection_figure(k_selection: pd.DataFrame) -> Figure:
    """Silhouette (with its permuted null) and stability against k, the chosen k marked."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    ks = k_selection["k"]
    ax1.plot(ks, k_selection["silhouette"], "o-", label="輪廓係數（實際）")
    null, sd = k_selection["null_silhouette"], k_selection["null_sd"].fillna(0)
    ax1.plot(ks, null, "s--", color="grey", label="輪廓係數（置換零模型）")
    ax1.fill_between(ks, null - 2 * sd, null + 2 * sd, color="grey", alpha=0.2, linewidth=0)
    ax1.set_xlabel("聚類數 k")
    ax1.set_ylabel("餘弦輪廓係數")
    ax1.set_title("輪廓係數與零模型")
    ax2.plot(ks, k_selection["stability"], "o-", color="tab:green", label="穩定性（種子間平均ARI）")
    ax2.axhline(_threshold(k_selection), color="tab:red", linestyle=":", label="穩定門檻")
    ax2.set_ylim(min(0.0, float(k_selection["stability"].min()) - 0.05), 1.05)
    ax2.set_xlabel("聚類數 k")
    ax2.set_ylabel("調整蘭德指數")
    ax2.set_title("穩定性")
    chosen = k_selection.loc[k_selection["chosen"], "k"]
    for ax in (ax1, ax2):
        for k in chosen:
            ax.axvline(k, color="black", alpha=0.4, linewidth=3, label=f"所選 k = {k}")
        ax.legend(fontsize=8, loc="best")
        ax.set_xticks(list(ks))
    weak = not bool(k_selection["supported"].any())
    fig.suptitle("聚類數選擇的證據" + ("（結構弱：沒有 k 同時穩定且顯著）" if weak else ""))
    fig.tight_layout()
    return fig


def _threshold(k_selection: pd.DataFrame) -> float:
    """The stability threshold the rule used, read back from the notes (default 0.8)."""
    import re

    for note in k_selection["note"]:
        m = re.search(r"stability (?:>=|<) ([0-9.]+)", str(note))
        if m:
            return float(m.group(1))
    return 0.8


def cluster_map_figure(result: ClusterResult) -> Figure:
    """Policies on the first two principal axes of the LSA embedding, coloured by cluster."""
    coords = _principal_coordinates(np.asarray(result.embedding, dtype=float))
    for j in range(coords.shape[1]):  # fix each axis's sign so reruns cannot mirror the map
        if coords[np.argmax(np.abs(coords[:, j])), j] < 0:
            coords[:, j] = -coords[:, j]
    frame = pd.DataFrame({"policy_id": result.policy_ids, "pc1": coords[:, 0], "pc2": coords[:, 1]})
    frame = frame.merge(result.clusters[["policy_id", "cluster", "label"]], on="policy_id", how="left")
    names = _cluster_names(frame["label"], frame["cluster"])
    colours = dict(zip(names, _colours(len(names))))
    fig, ax = plt.subplots(figsize=(9, 7))
    # Above a few hundred policies full-size markers merge into blobs: shrink them with the count and
    # let overlaps show through (the legend keeps full-size markers).
    crowd = min(1.0, _READABLE_POINTS / max(len(frame), 1))
    size = 60 * crowd**0.5
    style = {"edgecolor": "white", "linewidth": 0.5} if crowd == 1.0 else {"alpha": max(0.25, crowd**0.25), "linewidth": 0}
    for c, name in names.items():
        part = frame[frame["cluster"] == c]
        ax.scatter(part["pc1"], part["pc2"], s=size, color=colours[c], label=name, rasterized=len(frame) > LARGE_MAP, **style)
    if len(frame) <= 80:  # beyond that the ids are unreadable
        for row in frame.itertuples(index=False):
            ax.annotate(row.policy_id, (row.pc1, row.pc2), xytext=(3, 3), textcoords="offset points", fontsize=7, alpha=0.8)
    ax.set_xlabel("主成分 1")
    ax.set_ylabel("主成分 2")
    ax.set_title(f"政策聚類圖（LSA 空間的二維投影，k = {result.k}）")
    legend = ax.legend(title="聚類：標籤", fontsize=8, title_fontsize=9, loc="best", **({} if crowd == 1.0 else {"markerscale": (60 / size) ** 0.5}))
    for handle in legend.legend_handles if crowd < 1.0 else ():
        handle.set_alpha(1.0)
    fig.tight_layout()
    return fig


def _principal_coordinates(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` on its first two principal axes (PCA), signs not yet fixed."""
    centred = x - x.mean(axis=0)
    if x.shape[1] < 2:
        return np.column_stack([centred[:, 0], np.zeros(len(x))])
    if len(x) <= LARGE_MAP:  # SVD of the centred rows: the committed maps were drawn from it
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        return u[:, :2] * s[:2]
    _, axes = np.linalg.eigh(centred.T @ centred)  # eigenvalues ascending: the last two axes
    return centred @ axes[:, [-1, -2]]


def cluster_by_year_figure(by_year: pd.DataFrame) -> Figure:
    """Stacked bars: policies per year, split by cluster."""
    wide = by_year.pivot(index="year", columns="cluster", values="policies").fillna(0).sort_index()
    names = _cluster_names(by_year["label"], by_year["cluster"])
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bottom = np.zeros(len(wide))
    for (c, name), colour in zip(names.items(), _colours(len(names))):
        values = wide[c].to_numpy() if c in wide else np.zeros(len(wide))
        ax.bar(wide.index.astype(str), values, bottom=bottom, color=colour, label=name)
        bottom += values
    ax.set_xlabel("年份")
    ax.set_ylabel("政策數")
    ax.set_title("各年政策的聚類構成")
    ax.legend(title="聚類：標籤", fontsize=8, title_fontsize=9, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def cluster_terms_figure(terms: pd.DataFrame, top: int = 8) -> Figure:
    """One horizontal bar chart per cluster: its top terms by class-based TF-IDF."""
    clusters = sorted(terms["cluster"].unique())
    cols = min(3, max(1, len(clusters)))
    rows = max(1, math.ceil(len(clusters) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, c, colour in zip(axes.flat, clusters, _colours(len(clusters))):
        part = terms[terms["cluster"] == c].sort_values("rank").head(top)
        ax.barh(part["term"][::-1], part["weight"][::-1], color=colour)
        ax.set_title(f"聚類 {c}：{part['label'].iloc[0]}", fontsize=10)
        ax.set_xlabel("類別 TF-IDF 權重", fontsize=8)
        ax.tick_params(axis="both", labelsize=8)
    for ax in list(axes.flat)[len(clusters):]:
        ax.set_visible(False)
    fig.suptitle("各聚類的主要詞語")
    fig.tight_layout()
    return fig


def all_figures(result: ClusterResult) -> dict[str, Figure]:
    """Every cluster figure of the report, by file name (what ``python -m analysis clusters`` saves)."""
    return {
        "cluster_k_selection": k_selection_figure(result.k_selection),
        "cluster_map": cluster_map_figure(result),
        "cluster_by_year": cluster_by_year_figure(result.by_year),
        "cluster_terms": cluster_terms_figure(result.terms),
    }
