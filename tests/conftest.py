"""Fixtures shared by the test modules: the seed's policy table, the default segmenter, its tokens."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest

from analysis import config, tokens
from analysis.tables import POLICIES, write_tables

SEED = config.RAW_DIR / "egov_policies_2013_2019.txt"


def seed_policies(text: str | None = None) -> pd.DataFrame:
    """The policy table of the seed (or of ``text``, a whole compilation) from the project's parser."""
    from analysis.parse import parse_compilation

    if text is None:
        return parse_compilation([SEED]).policies
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / SEED.name
        path.write_text(text, encoding="utf-8")
        return parse_compilation([path]).policies


def write_policies(policies: pd.DataFrame, folder: Path) -> Path:
    """Write ``policies`` as ``folder/policies.csv`` the way the parse command does."""
    path = folder / config.POLICIES_FILE
    write_tables({path: policies}, schemas={path: POLICIES})
    return path


@pytest.fixture(scope="session")
def segmenter() -> tokens.Segmenter:
    return tokens.load_segmenter()


@pytest.fixture(scope="session")
def seed() -> pd.DataFrame:
    return seed_policies()


@pytest.fixture(scope="session")
def seed_tokens(seed: pd.DataFrame, segmenter: tokens.Segmenter) -> pd.DataFrame:
    return tokens.tokenize_policies(seed, segmenter)
