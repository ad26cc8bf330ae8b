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
# **Question.** Which bodies issue the policies, at which level (黨中央, 全國人大, 國務院, 國務院部門,
# 議事協調機構, …), how often as lead or as joint issuer, which bodies issue together, and which
# policies cite other policies of the corpus?
#
# **Reads** `policies.csv` and `policy_issuers.csv` from `data_dir` (written by `make parse`, i.e.
# `python -m analysis parse`), and the issuer registry of the package
# (`src/analysis/resources/issuers.csv`).
#
# **Writes** `issuer_counts`, `issuer_by_year`, `issuer_network` and `policy_citations` (`.png` and
# `.svg`) into `figures_dir`, through the same plot functions and `save_figure` helper as
# `make report`. The tables (`issuer_counts.csv`, `issuer_by_year.csv`, `issuer_edges.csv`,
# `issuer_centrality.csv`, `doc_prefixes.csv`, `policy_citations.csv`) are those `make report`
# writes; here they are computed in memory by the same function, `analysis.issuers.issuer_tables`.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from analysis import config
from analysis.issuers import issuer_tables
from analysis.plots import apply_style, save_figure
from analysis.plots.issuers import all_figures
from analysis.registry import load_registry
from analysis.tables import load_policies, load_policy_issuers

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR  # folder holding policies.csv and policy_issuers.csv
figures_dir = config.FIGURES_DIR  # where the figures are saved (same names as `make report`)
save_figures = True  # False: show the figures without writing files

# %%
data_dir, figures_dir = Path(data_dir), Path(figures_dir)
apply_style()
policies = load_policies(data_dir)
policy_issuers = load_policy_issuers(data_dir)
registry = load_registry()
tables = issuer_tables(policies, policy_issuers, registry)
figures = all_figures(tables, policies, registry)


def show(name):
    """Display one of the step's figures, save it like `make report` does (if asked), release it."""
    fig = figures[name]
    if save_figures:
        save_figure(fig, name, figures_dir)
    display(fig)
    plt.close(fig)


# %% [markdown]
# ## Who issues the policies?
# Each body with its level, the policies it led (first-named issuer) and co-issued, and the first
# and last year it appears.

# %%
tables["issuer_counts"]

# %%
show("issuer_counts")

# %% [markdown]
# ## Across the years

# %%
show("issuer_by_year")

# %% [markdown]
# ## Who issues together?
# One edge per pair of bodies that co-issued at least one policy; the weight is the number of such
# policies, which are listed by id. Centrality: degree (distinct partners), weighted degree and
# betweenness in that network.

# %%
display(tables["issuer_edges"])
tables["issuer_centrality"]

# %%
show("issuer_network")

# %% [markdown]
# ## Document-number prefixes
# Each prefix of a 發文字號 (國辦發, 國發, 發改高技, …), the body the registry maps it to (empty: a
# prefix the registry does not know yet; add it to `resources/issuers.csv`), and how many policies
# use it.

# %%
tables["doc_prefixes"]

# %% [markdown]
# ## Which policies build on which?
# Every 《…》 title or document number a policy names, resolved to a policy of the corpus where it
# is one (`cited_policy_id` empty: a document outside the corpus).

# %%
citations = tables["policy_citations"]
print(f"{len(citations)} references, {(citations['cited_policy_id'] != '').sum()} to policies of this corpus")
citations

# %%
show("policy_citations")
