# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Which ideas rise and fall across the years?
#
# **Question.** Which terms (雲計算, 大數據, 一網通辦, …) gain or lose ground year by year, and which
# words are distinctive of each year?
#
# **Reads** `policies.csv` and `tokens.parquet` from `data_dir` (written by `make tokens`, i.e.
# `python -m analysis parse` then `python -m analysis tokens`).
#
# **Writes** `keyword_trends`, `keyword_heatmap` and `keyness_by_year` (`.png` and `.svg`) into
# `figures_dir`, through the same plot functions and the same `save_figure` helper as `make report`,
# so with the default parameters the files are identical to the report's. The tables
# (`keyword_by_year.csv`, `keyness_by_year.csv`) are the ones `make report` writes; here they are
# computed in memory by the same functions.
#
# **Normalisation.** Years hold very different numbers of policies, so the trend and heatmap figures
# plot the *share of the year's policies* that mention a term (`share_of_policies`), and label points
# with the number of policies behind them; `per_10k_tokens` is in the table for readers who prefer
# density. Keyness is Dunning's log-likelihood G² of a year against all other years, with the log
# ratio as effect size (see `analysis.keywords.keyness_by_year`).

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from analysis import config
from analysis.keywords import count_terms, default_trend_terms, keyness_by_year, keyword_by_year
from analysis.plots import apply_style, save_figure
from analysis.plots.keywords import plot_keyness, plot_keyword_heatmap, plot_keyword_trends, top_terms_by_docs
from analysis.tables import load_policies, load_tokens

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR  # folder holding policies.csv and tokens.parquet
figures_dir = config.FIGURES_DIR  # where the figures are saved (same names as `make report`)
trend_terms = None  # list of terms for keyword_trends; None = dictionary terms in most policies (as `make report`)
lookup_terms = None  # terms to count exactly in the texts (any string, either script); None = trend terms
save_figures = True  # False: show the figures without writing files

# %%
data_dir, figures_dir = Path(data_dir), Path(figures_dir)
apply_style()
policies = load_policies(data_dir)
tokens = load_tokens(data_dir)
by_year = keyword_by_year(tokens, policies)
keyness = keyness_by_year(tokens, policies)


def show(fig, name):
    """Display a figure, save it like `make report` does (if asked), and release it."""
    if save_figures:
        save_figure(fig, name, figures_dir)
    display(fig)
    plt.close(fig)


# %% [markdown]
# ## Keyword frequency by year
# One row per (term, year) where the term occurs as a keyword token: `count`, `docs` (policies
# mentioning it), `policies_in_year`, `share_of_policies`, `per_10k_tokens`. The most widespread terms:

# %%
top = top_terms_by_docs(by_year, 15)
by_year[by_year["term"].isin(top)].pivot_table(index="term", columns="year", values="docs", fill_value=0).loc[top]

# %% [markdown]
# ## Trends of chosen terms
# Each panel: the share of that year's policies mentioning the term.

# %%
trend_terms = trend_terms or default_trend_terms(by_year)
show(plot_keyword_trends(by_year, terms=trend_terms), "keyword_trends")

# %% [markdown]
# ## The most widespread terms × years

# %%
show(plot_keyword_heatmap(by_year), "keyword_heatmap")

# %% [markdown]
# ## What is distinctive of each year?
# Terms over-represented in a year against all other years (G²; hatched bars: p ≥ 0.05, weak
# evidence with counts this small).

# %%
show(plot_keyness(keyness), "keyness_by_year")

# %%
keyness[(keyness["direction"] == "over") & (keyness["rank"] <= 5)]

# %% [markdown]
# ## Exact counts of any term
# Segmentation decides what counts as a keyword token above; `count_terms` counts every occurrence
# of a string in each year's texts instead (either script), so it also works for terms outside the
# dictionaries. The same counts from the shell:
# `python -m analysis keywords data/processed --terms 雲計算,一網通辦`.

# %%
lookup = list(lookup_terms or trend_terms)
count_terms(policies, lookup)

# %% [markdown]
# ## Try your own terms
# Type terms separated by commas (or 、) and press Enter: the panel shows the share of each year's
# policies whose text contains each term. Needs a live kernel (JupyterLab); in the exported report
# the box is inert.

# %%
import ipywidgets as widgets

term_box = widgets.Text(value="，".join(lookup), description="詞語", continuous_update=False, layout=widgets.Layout(width="60%"))
trend_out = widgets.Output()


def draw_trends(change=None):
    """Redraw the trend panel for the terms in the text box (exact occurrences, any string)."""
    terms = [t.strip() for t in term_box.value.replace("，", ",").replace("、", ",").split(",") if t.strip()]
    trend_out.clear_output(wait=True)
    if not terms:
        return
    with trend_out:
        fig = plot_keyword_trends(count_terms(policies, terms), terms=terms)
        display(fig)
        plt.close(fig)


term_box.observe(draw_trends, names="value")
draw_trends()
widgets.VBox([term_box, trend_out])
