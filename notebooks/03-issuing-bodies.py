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
# # 03 · Who makes the policy, alone or together, and which policies build on which?
#
# **Question.** Which bodies issue the policies, at which level, how often jointly, and which
# policies cite which?
#
# **Reads** `policies.csv` and `policy_issuers.csv` from `data_dir` (written by `make parse`).
#
# **Writes** the issuer figures into `figures_dir` through `analysis.plots.save_figure`, the same
# files `make report` writes.

# %%
from pathlib import Path

from analysis import config
from analysis.tables import load_policies, load_policy_issuers

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR  # folder holding policies.csv and policy_issuers.csv
tables_dir = config.TABLES_DIR  # where make report wrote issuer_*.csv and policy_citations.csv
figures_dir = config.FIGURES_DIR  # where figures are saved

# %%
data_dir, tables_dir, figures_dir = Path(data_dir), Path(tables_dir), Path(figures_dir)
policies = load_policies(data_dir)
policy_issuers = load_policy_issuers(data_dir)
