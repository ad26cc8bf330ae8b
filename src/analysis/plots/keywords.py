"""Figures of keyword frequency across years and of each year's distinctive terms.

Inputs are the tables of :mod:`analysis.keywords` (``keyword_by_year``, ``keyness_by_year``). Trend
and heatmap plot ``share_of_policies`` (the share of a year's policies mentioning the term, in
percent): with a few policies in some years, raw counts would mostly show how many policies a year
has. Call :func:`analysis.plots.apply_style` first so Chinese labels have a font.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..script import to_simplified


def top_terms_by_docs(by_year: pd.DataFrame, n: int = 8, prefer: Collection[str] = ()) -> list[str]:
    """The ``n`` terms mentioned by the most policies over all years (ties: more occurrences, then term).

    Terms whose Simplified form is in ``prefer`` (the domain dictionary, say) come first, so the
    trends show ideas (雲計算, 一網通辦) before generic words (服務, 政府); the general ranking fills
    any places left. This is the default choice of trend terms: a rule, so a new corpus gets its own.
    """
    totals = by_year.groupby("term")[["docs", "count"]].sum().reset_index()
    preferred = {to_simplified(t) for t in prefer}
    totals["preferred"] = [to_simplified(t) in preferred for t in totals["term"]]
    totals = totals.sort_values(["preferred", "docs", "count", "term"], ascending=[False, False, False, True])
    return totals["term"].head(n).tolist()


def _share_matrix(by_year: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    # Years with policies but without the term must show 0, not vanish: take the years from the table.
    years = sorted(by_year["year"].unique())
    wide = by_year.pivot_table(index="term", columns="year", values="share_of_policies", aggfunc="sum")
    return (wide.reindex(index=list(terms), columns=years).fillna(0.0) * 100).astype(float)


def plot_keyword_trends(by_year: pd.DataFrame, terms: Sequence[str] | None = None, n_terms: int = 8) -> Figure:
    """Small multiples, one panel per term: the share of each year's policies (%) mentioning it.

    ``terms`` defaults to :func:`top_terms_by_docs` (``n_terms`` of them). A named term absent from
    ``by_year`` is drawn at 0. The y axis is the share of policies (not raw counts), shared by all
    panels; each point is labelled with the number of policies behind it, since a year with one
    policy can only show 0% or 100%.
    """
    terms = list(terms) if terms else top_terms_by_docs(by_year, n_terms)
    shares = _share_matrix(by_year, terms)
    docs = by_year.pivot_table(index="term", columns="year", values="docs", aggfunc="sum").reindex(index=terms, columns=shares.columns).fillna(0).astype(int)
    policies = by_year.drop_duplicates("year").set_index("year")["policies_in_year"].reindex(shares.columns)
    ncols = min(4, max(1, len(terms)))
    nrows = max(1, math.ceil(len(terms) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows + 1.0), sharex=True, sharey=True, squeeze=False)
    years = list(shares.columns)
    for ax, term in zip(axes.flat, terms, strict=False):
        ax.fill_between(years, shares.loc[term], color="#6baed6", alpha=0.25)
        ax.plot(years, shares.loc[term], marker="o", color="#2171b5", linewidth=1.8, markersize=4)
        for x, y, n in zip(years, shares.loc[term], docs.loc[term], strict=True):
            if n:
                ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7, color="#444444")
        ax.set_title(term, fontsize=11)
        ax.set_ylim(0, 115)
        ax.set_xticks(years)
        ax.set_xticklabels([str(y)[2:] if len(years) > 5 else str(y) for y in years], fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
    for ax in list(axes.flat)[len(terms):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("政策比例（%）", fontsize=9)
    counts = "，".join(f"{y}年 {int(n)} 篇" for y, n in policies.items())
    fig.suptitle("關鍵詞逐年趨勢：提及該詞的政策佔當年政策比例（點上數字為政策數）", fontsize=12)
    fig.supxlabel(f"年份（'{str(years[0])[2:]} = {years[0]}；當年政策數：{counts}）" if years and len(years) > 5 else "年份", fontsize=8)
    fig.tight_layout()
    return fig


def plot_keyword_heatmap(by_year: pd.DataFrame, n_terms: int = 25) -> Figure:
    """Heatmap of the top ``n_terms`` terms (by policies mentioning them) × years.

    Colour: share of the year's policies mentioning the term (%); each cell is annotated with the
    number of policies (docs), so small years are not over-read.
    """
    import seaborn as sns

    terms = top_terms_by_docs(by_year, n_terms)
    shares = _share_matrix(by_year, terms)
    docs = by_year.pivot_table(index="term", columns="year", values="docs", aggfunc="sum").reindex(index=terms, columns=shares.columns).fillna(0).astype(int)
    annot = docs.where(docs > 0, "").astype(str)
    policies = by_year.drop_duplicates("year").set_index("year")["policies_in_year"].reindex(shares.columns)
    fig, ax = plt.subplots(figsize=(1.1 * len(shares.columns) + 3.5, 0.36 * len(terms) + 1.8))
    sns.heatmap(shares, ax=ax, cmap="YlGnBu", vmin=0, vmax=100, annot=annot.to_numpy(), fmt="", annot_kws={"fontsize": 8},
                linewidths=0.5, linecolor="white", cbar_kws={"label": "提及該詞的政策比例（%）"})
    ax.set_xticklabels([f"{y}\n(n={int(n)})" for y, n in policies.items()], rotation=0)
    ax.set_yticklabels(terms, rotation=0)
    ax.set_xlabel("年份（括號內為當年政策數；格內數字為提及該詞的政策數）")
    ax.set_ylabel("")
    ax.set_title(f"高頻關鍵詞 × 年份（按提及政策數取前 {len(terms)} 個）")
    fig.tight_layout()
    return fig


def plot_keyness(keyness: pd.DataFrame, n_per_year: int = 8) -> Figure:
    """One panel per year: its most over-represented terms against the other years, bar = G².

    Bars are labelled with the log ratio (log2 of relative frequency, year vs rest); a hatched bar
    marks p ≥ 0.05 (weak evidence, common with small counts).
    """
    over = keyness[keyness["direction"] == "over"]
    years = sorted(over["year"].unique())
    ncols = min(4, max(1, len(years)))
    nrows = max(1, math.ceil(len(years) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 0.32 * n_per_year * nrows + 1.2 * nrows + 0.6), squeeze=False)
    xmax = float(over["g2"].max()) * 1.35 if len(over) else 1.0
    for ax, year in zip(axes.flat, years, strict=False):
        sub = over[over["year"] == year].sort_values("rank").head(n_per_year)
        y = np.arange(len(sub))[::-1]
        weak = (sub["p_value"] >= 0.05).to_numpy()
        bars = ax.barh(y, sub["g2"], color=["#c6dbef" if w else "#2171b5" for w in weak], edgecolor="#2171b5")
        for bar, w in zip(bars, weak, strict=True):
            if w:
                bar.set_hatch("//")
        for yi, g2, lr in zip(y, sub["g2"], sub["log_ratio"], strict=True):
            ax.text(g2 + xmax * 0.01, yi, f"LR {lr:+.1f}", va="center", fontsize=7, color="#444444")
        ax.set_yticks(y)
        ax.set_yticklabels(sub["term"], fontsize=9)
        ax.set_xlim(0, xmax)
        ax.set_ylim(-0.6, n_per_year - 0.4)
        ax.set_title(f"{year}年", fontsize=11)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_xlabel("G²（對數似然）", fontsize=8)
    for ax in list(axes.flat)[len(years):]:
        ax.set_axis_off()
    if not years:
        axes.flat[0].text(0.5, 0.5, "年份不足兩個，無法比較", ha="center", va="center", transform=axes.flat[0].transAxes)
    fig.suptitle("各年份特徵詞（與其他年份相比顯著偏多；LR = log2 頻率比，斜線 = p ≥ 0.05）", fontsize=12)
    fig.tight_layout()
    return fig
