# Policy-corpus analysis. `make help` lists the targets.
#
# Rules name real files, so `make report` rebuilds only what is stale: a change to the tokeniser
# reruns tokens and everything after it, not the parser. The first target that needs Python makes
# the virtual environment (.venv) when it is missing.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export ANALYSIS_NO_PROGRESS ?=
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

RAW := $(sort $(wildcard data/raw/*.txt))
PROC := data/processed
TABLES := reports/tables
FIGURES := reports/figures
PKG := src/analysis
CORE_SRC := $(PKG)/__init__.py $(PKG)/config.py $(PKG)/tables.py $(PKG)/errors.py $(PKG)/script.py $(PKG)/engine.py $(PKG)/progress.py
PLOT_SRC := $(wildcard $(PKG)/plots/__init__.py)

PARSE_SRC := $(CORE_SRC) $(wildcard $(PKG)/parse.py $(PKG)/decode.py $(PKG)/docnumber.py $(PKG)/registry.py $(PKG)/resources/issuers.csv $(PKG)/resources/policy_types.txt)
TOKENS_SRC := $(CORE_SRC) $(wildcard $(PKG)/tokens.py $(PKG)/docnumber.py $(PKG)/resources/userdict.txt $(PKG)/resources/stopwords.txt)
KEYWORDS_SRC := $(CORE_SRC) $(PLOT_SRC) $(wildcard $(PKG)/keywords.py $(PKG)/tokens.py $(PKG)/plots/keywords.py)
ISSUERS_SRC := $(CORE_SRC) $(PLOT_SRC) $(wildcard $(PKG)/issuers.py $(PKG)/citations.py $(PKG)/docnumber.py $(PKG)/registry.py $(PKG)/resources/issuers.csv $(PKG)/plots/issuers.py)
CLUSTERS_SRC := $(CORE_SRC) $(PLOT_SRC) $(wildcard $(PKG)/clusters.py $(PKG)/keywords.py $(PKG)/plots/clusters.py)

PARSED := $(PROC)/policies.csv $(PROC)/policy_issuers.csv $(PROC)/parse_report.csv
TOKENS := $(PROC)/tokens.parquet
KEYWORD_OUT := $(TABLES)/keyword_by_year.csv $(TABLES)/keyness_by_year.csv \
	$(FIGURES)/keyword_trends.png $(FIGURES)/keyword_heatmap.png $(FIGURES)/keyness_by_year.png
ISSUER_OUT := $(TABLES)/issuer_counts.csv $(TABLES)/issuer_by_year.csv $(TABLES)/issuer_edges.csv \
	$(TABLES)/issuer_centrality.csv $(TABLES)/doc_prefixes.csv $(TABLES)/policy_citations.csv \
	$(FIGURES)/issuer_counts.png $(FIGURES)/issuer_by_year.png $(FIGURES)/issuer_network.png \
	$(FIGURES)/policy_citations.png
CLUSTER_OUT := $(PROC)/clusters.csv $(TABLES)/cluster_terms.csv $(TABLES)/cluster_k_selection.csv \
	$(TABLES)/cluster_by_year.csv $(FIGURES)/cluster_k_selection.png $(FIGURES)/cluster_map.png \
	$(FIGURES)/cluster_by_year.png $(FIGURES)/cluster_terms.png

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

.PHONY: env
env: $(STAMP) ## create .venv and install the project with its dev extra

$(PARSED) &: $(RAW) $(PARSE_SRC) | $(STAMP)
	$(PY) -m analysis parse $(RAW) --out $(PROC)

$(TOKENS): $(PROC)/policies.csv $(TOKENS_SRC) | $(STAMP)
	$(PY) -m analysis tokens $(PROC)

$(KEYWORD_OUT) &: $(TOKENS) $(PROC)/policies.csv $(KEYWORDS_SRC) | $(STAMP)
	$(PY) -m analysis keywords $(PROC) --tables-dir $(TABLES) --figures-dir $(FIGURES)

$(ISSUER_OUT) &: $(PARSED) $(ISSUERS_SRC) | $(STAMP)
	$(PY) -m analysis issuers $(PROC) --tables-dir $(TABLES) --figures-dir $(FIGURES)

$(CLUSTER_OUT) &: $(TOKENS) $(PROC)/policies.csv $(CLUSTERS_SRC) | $(STAMP)
	$(PY) -m analysis clusters $(PROC) --tables-dir $(TABLES) --figures-dir $(FIGURES)

REPORT_SRC := $(CORE_SRC) $(PLOT_SRC) $(PKG)/report.py
NOTEBOOK_SRC := $(sort $(wildcard notebooks/[0-9][0-9]-*.py))
NOTEBOOK_HTML := $(patsubst notebooks/%.py,reports/notebooks/%.html,$(NOTEBOOK_SRC))

# 02–04 re-save their step's figures (same bytes), so each runs after that step.
reports/notebooks/01-parse-and-inspect.html: $(PARSED) $(PARSE_SRC)
reports/notebooks/02-keyword-trends.html: $(TOKENS) $(PROC)/policies.csv $(KEYWORDS_SRC) $(KEYWORD_OUT)
reports/notebooks/03-issuing-bodies.html: $(PARSED) $(ISSUERS_SRC) $(ISSUER_OUT)
reports/notebooks/04-topic-clusters.html: $(TOKENS) $(PROC)/policies.csv $(CLUSTERS_SRC) $(CLUSTER_OUT)

reports/notebooks/%.html: notebooks/%.py $(REPORT_SRC) | $(STAMP)
	$(PY) -m analysis report $(PROC) --tables-dir $(TABLES) --figures-dir $(FIGURES) --only $* --no-index

# The index records package versions, so the environment is a real prerequisite here.
reports/index.html: $(RAW) $(NOTEBOOK_HTML) $(KEYWORD_OUT) $(ISSUER_OUT) $(CLUSTER_OUT) $(REPORT_SRC) $(STAMP)
	$(PY) -m analysis report $(PROC) --tables-dir $(TABLES) --figures-dir $(FIGURES) --index-only --raw $(RAW)

.PHONY: parse tokens report
parse: $(PARSED) ## parse data/raw/*.txt into data/processed/
tokens: $(TOKENS) ## segment the policy texts into tokens.parquet
report: reports/index.html ## run the whole analysis on data/raw/ and build reports/index.html (makes .venv if missing)

BENCH_DIR := reports/benchmarks
.PHONY: bench
bench: $(STAMP) ## time every stage on 2k/20k/200k synthetic policies (medians of 3 runs) into reports/benchmarks/ (~18 min)
	$(PY) benchmarks/bench_pipeline.py --policies 2000 --repeat 3 --json $(BENCH_DIR)/bench_2000.json
	$(PY) benchmarks/bench_pipeline.py --policies 20000 --repeat 3 --json $(BENCH_DIR)/bench_20000.json
	$(PY) benchmarks/bench_pipeline.py --policies 200000 --repeat 3 --json $(BENCH_DIR)/bench_200000.json
	$(PY) benchmarks/bench_pipeline.py --summarize $(BENCH_DIR)

.PHONY: bench-clusters
bench-clusters: $(STAMP) ## topic clusters vs a plain TF-IDF+KMeans baseline, scored against a hand grouping
	$(PY) benchmarks/cluster_baseline.py --seeds 5

.PHONY: test
test: $(STAMP) ## run the test suite (makes .venv if missing)
	$(PY) -m pytest

.PHONY: lab
lab: $(STAMP) ## open JupyterLab on notebooks/ with the project's environment
	$(VENV)/bin/jupyter lab notebooks/

.PHONY: clean
clean: ## delete generated data and reports (keeps data/raw and .venv)
	rm -rf $(PROC)/*.csv $(PROC)/*.parquet $(PROC)/.cache reports/tables reports/figures reports/notebooks reports/index.html
