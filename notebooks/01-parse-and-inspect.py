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
# # 01 · What did the parser make of the compilation?
#
# **Question.** Is the tidy policy table trustworthy: one row per policy, the right year, title,
# document number and issuing bodies, and every line of the source accounted for?
#
# **Reads** (from `data_dir`, written by `make parse` / `python -m analysis parse data/raw/*.txt`):
# `policies.csv`, `policy_issuers.csv`, `parse_report.csv`.
#
# **Writes** nothing: this notebook only inspects. To parse another compilation, put it in
# `data/raw/` and run `make report`, or set `data_dir` below to the folder `parse --out` wrote.

# %%
from pathlib import Path

from IPython.display import display

from analysis import config
from analysis.tables import load_parse_report, load_policies, load_policy_issuers

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR  # folder holding policies.csv, policy_issuers.csv, parse_report.csv

# %%
data_dir = Path(data_dir)
policies = load_policies(data_dir)
policy_issuers = load_policy_issuers(data_dir)
parse_report = load_parse_report(data_dir)
print(f"{len(policies)} policies from {policies['source_file'].nunique()} file(s), years {policies['year'].min()}–{policies['year'].max()}")

# %% [markdown]
# ## The policies
# One row per policy, in source order. `policy_id` is the year and the policy's position within it;
# `source_file` and `source_line` point back to the raw text.

# %%
policies.drop(columns=["text"])

# %% [markdown]
# Policies per year (the denominator every per-year share in `02` divides by):

# %%
policies["year"].value_counts().sort_index().rename("policies").to_frame()

# %% [markdown]
# Document types (文種) and document-number prefixes. An empty `doc_number` means the summary names
# none; `parse_report.csv` says why for any line the parser could not place.

# %%
display(policies["policy_type"].replace("", "(none)").value_counts().rename("policies").to_frame())
policies["doc_prefix"].replace("", "(no number)").value_counts().rename("policies").to_frame()

# %% [markdown]
# ## Issuing bodies
# One row per (policy, body): the lead body first, joint issuers after it, each with its level.

# %%
policy_issuers.groupby(["level", "issuer"]).size().rename("policies").sort_values(ascending=False).to_frame()

# %% [markdown]
# ## Every line accounted for
# `parse_report.csv` has one row per non-blank line of the source: what it became, and every repair
# of a web artifact (`??`, stray `<2014>` markers, spaced `互聯網 + 政務服務`, trailers). Lines
# marked `skipped` carry their reason in `detail`; read them before trusting the counts.

# %%
parse_report["kind"].value_counts().rename("lines").to_frame()

# %%
parse_report.loc[parse_report["kind"].isin(["skipped", "repair"]), ["source_file", "line", "kind", "policy_id", "detail"]]
