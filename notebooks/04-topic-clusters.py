# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · What families of policy does the corpus hold?
#
# **Question.** Do the policies fall into stable, interpretable topic clusters, how many, and how do
# the clusters shift over the years?
#
# **Reads** `policies.csv` and `tokens.parquet` from `data_dir` (written by `make tokens`, i.e.
# `python -m analysis parse` then `python -m analysis tokens`).
#
# **Writes** `cluster_k_selection`, `cluster_map`, `cluster_by_year` and `cluster_terms` (`.png` and
# `.svg`) into `figures_dir`, through the same plot functions and `save_figure` helper as
# `make report`; with the default parameters the files are identical to the report's. The tables
# (`clusters.csv`, `cluster_terms.csv`, `cluster_k_selection.csv`, `cluster_by_year.csv`) are those
# `python -m analysis clusters` writes; here they are computed in memory by the same function,
# `analysis.clusters.cluster_policies`.
#
# **Method** (details in the docstring of `analysis.clusters`): TF-IDF over each policy's keyword
# tokens (sublinear tf, `min_df`), LSA, KMeans for every k of the range with fixed seeds. A k counts as
# *supported* when its clusters are stable across seeds (mean pairwise adjusted Rand index) and its
# cosine silhouette clears that of a column-permuted corpus (silhouette rises with k even on noise).
# When no k is supported, the output says **WEAK STRUCTURE** and the clusters are descriptive only.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from analysis import config
from analysis.clusters import ClusterParams, cluster_policies
from analysis.plots import apply_style, save_figure
from analysis.plots.clusters import cluster_by_year_figure, cluster_map_figure, cluster_terms_figure, k_selection_figure
from analysis.tables import load_policies, load_tokens

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR  # folder holding policies.csv and tokens.parquet
figures_dir = config.FIGURES_DIR  # where the figures are saved (same names as `make report`)
k_min = ClusterParams.k_min  # smallest number of clusters tried
k_max = ClusterParams.k_max  # largest number tried (capped to the number of policies - 1)
seeds = ClusterParams.seeds  # KMeans runs per k for the stability estimate
random_state = ClusterParams.random_state  # seed of every random step: same seed, same result
save_figures = True  # False: show the figures without writing files

# %%
data_dir, figures_dir = Path(data_dir), Path(figures_dir)
apply_style()
policies = load_policies(data_dir)
tokens = load_tokens(data_dir)
params = ClusterParams(k_min=k_min, k_max=k_max, seeds=seeds, random_state=random_state)
result = cluster_policies(tokens, policies, params)


def show(fig, name):
    """Display a figure, save it like `make report` does (if asked), and release it."""
    if save_figures:
        save_figure(fig, name, figures_dir)
    display(fig)
    plt.close(fig)


# %% [markdown]
# ## How many clusters? The evidence for each k
# `silhouette` against `null_silhouette` (the same pipeline on a permuted corpus), `silhouette_z`,
# `stability` (mean pairwise ARI over seeds), whether the k is `supported`, and which one is `chosen`.

# %%
print(f"chosen k = {result.k}: {result.note}")
result.k_selection

# %%
show(k_selection_figure(result.k_selection), "cluster_k_selection")

# %% [markdown]
# ## The clusters
# Each cluster's label is built from its top terms (class-based TF-IDF). Per policy: `confidence`
# (how often the seed runs put it with its cluster mates; 1 = always) and `distance` to the centroid.

# %%
show(cluster_terms_figure(result.terms), "cluster_terms")

# %%
result.clusters.merge(policies[["policy_id", "year", "title"]], on="policy_id").sort_values(["cluster", "confidence"], ascending=[True, False])

# %%
show(cluster_map_figure(result), "cluster_map")

# %% [markdown]
# ## How the clusters shift over the years

# %%
show(cluster_by_year_figure(result.by_year), "cluster_by_year")
