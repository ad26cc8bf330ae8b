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
# **Reads** `tokens.parquet` and `policies.csv` from `data_dir` (written by `make tokens`).
#
# **Writes** the cluster figures into `figures_dir` through `analysis.plots.save_figure`, the same
# files `make report` writes.

# %%
from pathlib import Path

from analysis import config
from analysis.tables import load_policies, load_tokens

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR  # folder holding policies.csv and tokens.parquet
tables_dir = config.TABLES_DIR  # where make report wrote cluster_*.csv
figures_dir = config.FIGURES_DIR  # where figures are saved

# %%
data_dir, tables_dir, figures_dir = Path(data_dir), Path(tables_dir), Path(figures_dir)
policies = load_policies(data_dir)
tokens = load_tokens(data_dir)
