"""Every command: --help works, and bad input is one line naming the file, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.cli import COMMANDS


def _run(*args: str, cwd: Path = config.PROJ_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=cwd)


def test_top_level_help_lists_every_command():
    proc = _run("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command):
    proc = _run(command, "--help")
    assert proc.returncode == 0 and "usage: python -m analysis " + command in proc.stdout


@pytest.mark.parametrize(
    "command,missing",
    [("tokens", config.POLICIES_FILE), ("keywords", config.POLICIES_FILE), ("issuers", config.POLICIES_FILE), ("clusters", config.POLICIES_FILE)],
)
def test_missing_inputs_name_the_file(tmp_path, command, missing):
    out = tmp_path / "out"
    proc = _run(command, str(tmp_path), "--tables-dir", str(out), "--figures-dir", str(out)) if command != "tokens" else _run(command, str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{tmp_path / missing}: no such file (run 'python -m analysis parse' first)"
    assert not out.exists() and not (tmp_path / config.TOKENS_FILE).exists()


def test_a_broken_table_is_one_line_naming_it(tmp_path):
    (tmp_path / config.POLICIES_FILE).write_text("policy_id,year\n2014-01,2014\n", encoding="utf-8")
    proc = _run("tokens", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / config.POLICIES_FILE}: ") and "lacks column" in lines[0]
    assert not (tmp_path / config.TOKENS_FILE).exists()


def test_unknown_command_fails():
    proc = _run("frobnicate")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_policy_column_reader_agrees_with_the_full_loader(tmp_path, seed):
    """The fast column reader (tokens, keywords) gives what load_policies gives: quoting, line
    breaks, empty strings, nullable numbers, every column kind."""
    from analysis.tables import POLICIES, load_policies, read_policy_columns, write_tables

    tricky = seed.head(3).copy()
    tricky["text"] = ['引號"在內",逗號,', "", "跨\n兩行\r\n的摘要"]
    tricky["doc_year"] = pd.array([None, 2014, None], dtype="Int64")
    for table in (seed, tricky):
        write_tables({tmp_path / config.POLICIES_FILE: table}, {tmp_path / config.POLICIES_FILE: POLICIES})
        for columns in (["policy_id", "text"], ["policy_id", "year"], POLICIES.names):
            pd.testing.assert_frame_equal(read_policy_columns(tmp_path, columns), load_policies(tmp_path)[columns])
