"""Every path the project uses, in one place.

Notebooks, the CLI defaults and the Makefile all resolve their files through these names, so a
checkout can live anywhere and nothing hard-codes a folder twice.
"""

from __future__ import annotations

from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]

DATA_DIR = PROJ_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"

REPORTS_DIR = PROJ_ROOT / "reports"
TABLES_DIR = REPORTS_DIR / "tables"
FIGURES_DIR = REPORTS_DIR / "figures"
NOTEBOOK_REPORTS_DIR = REPORTS_DIR / "notebooks"
BENCHMARKS_REPORT_DIR = REPORTS_DIR / "benchmarks"

NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"

# File names inside a processed-data folder; the CLI takes the folder, these name its contents.
POLICIES_FILE = "policies.csv"
POLICY_ISSUERS_FILE = "policy_issuers.csv"
PARSE_REPORT_FILE = "parse_report.csv"
TOKENS_FILE = "tokens.parquet"
CLUSTERS_FILE = "clusters.csv"
