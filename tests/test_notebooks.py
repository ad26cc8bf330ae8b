"""The notebooks: they run headlessly on a fresh pipeline output, carry no outputs in git, and their
``.py`` and ``.ipynb`` sides agree.

The pipeline runs once per session into a temporary folder, through the same CLI commands ``make
report`` uses, from the bundled compilation; each notebook then executes with that folder injected
as its parameters, exactly as ``python -m analysis report`` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

from analysis import config
from analysis.report import find_notebooks, notebook_question, parameter_names, read_notebook, run_notebook

NOTEBOOKS = {
    "01-parse-and-inspect": ("analysis.parse",),
    "02-keyword-trends": ("analysis.parse", "analysis.tokens", "analysis.keywords", "analysis.plots.keywords"),
    "03-issuing-bodies": ("analysis.parse", "analysis.issuers", "analysis.plots.issuers"),
    "04-topic-clusters": ("analysis.parse", "analysis.tokens", "analysis.clusters", "analysis.plots.clusters"),
}
SEED = sorted(config.RAW_DIR.glob("*.txt"))


def _steps(proc: Path, tables: Path, figures: Path) -> list[tuple[str, list[str]]]:
    """Pipeline steps in order: (module that must exist, arguments after `python -m analysis`)."""
    out = ["--tables-dir", str(tables), "--figures-dir", str(figures)]
    return [
        ("analysis.parse", ["parse", *map(str, SEED), "--out", str(proc)]),
        ("analysis.tokens", ["tokens", str(proc)]),
        ("analysis.keywords", ["keywords", str(proc), *out]),
        ("analysis.issuers", ["issuers", str(proc), *out]),
        ("analysis.clusters", ["clusters", str(proc), *out]),
    ]


def _available(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> tuple[dict[str, Path], dict[str, str]]:
    """The pipeline's outputs for the bundled compilation, made once in a temporary folder.

    Returns the folders (as notebook parameters) and, per step module, "" when it ran or the reason
    it did not (its stderr, or the earlier step it needed).
    """
    import os

    root = tmp_path_factory.mktemp("pipeline")
    dirs = {"data_dir": root / "processed", "tables_dir": root / "tables", "figures_dir": root / "figures"}
    env = {**os.environ, "ANALYSIS_NO_PROGRESS": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    status: dict[str, str] = {}
    for module, argv in _steps(dirs["data_dir"], dirs["tables_dir"], dirs["figures_dir"]):
        broken = [m for m, why in status.items() if why and m in ("analysis.parse", "analysis.tokens")]
        if broken:
            status[module] = f"{broken[0]} did not run"
            continue
        if not _available(module):
            status[module] = "not available"
            continue
        proc = subprocess.run([sys.executable, "-m", "analysis", *argv], capture_output=True, text=True, env=env)
        status[module] = "" if proc.returncode == 0 else f"`{argv[0]}` exited {proc.returncode}:\n{proc.stderr}"
    return dirs, status


def _require(modules: tuple[str, ...]) -> None:
    for module in modules:
        pytest.importorskip(module)


def test_the_expected_notebooks_exist_in_pairs():
    stems = [p.stem for p in find_notebooks()]
    assert stems == sorted(NOTEBOOKS)
    for stem in stems:
        assert (config.NOTEBOOKS_DIR / f"{stem}.ipynb").is_file(), f"{stem}.ipynb is missing (jupytext --sync)"


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_committed_ipynb_has_no_outputs(stem):
    data = json.loads((config.NOTEBOOKS_DIR / f"{stem}.ipynb").read_text(encoding="utf-8"))
    for i, cell in enumerate(data["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has outputs (run nbstripout)"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
    assert "widgets" not in data["metadata"]


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_py_and_ipynb_sides_agree(stem):
    def cells(path: Path) -> list[tuple[str, str, tuple[str, ...]]]:
        nb = jupytext.read(path)
        return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]

    py, ipynb = config.NOTEBOOKS_DIR / f"{stem}.py", config.NOTEBOOKS_DIR / f"{stem}.ipynb"
    assert cells(py) == cells(ipynb), f"{stem}: .py and .ipynb differ; run `jupytext --sync notebooks/{stem}.py`"


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_notebook_states_its_question_and_takes_folders_as_parameters(stem):
    nb = read_notebook(config.NOTEBOOKS_DIR / f"{stem}.py")
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert notebook_question(nb), "the first markdown cell starts with the question as a heading"
    assert "**Reads**" in first.source and "**Writes**" in first.source
    assert "data_dir" in parameter_names(nb)


def _problems(nb) -> list[str]:
    """Error outputs and missing-glyph warnings of an executed notebook."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            if out.get("output_type") == "error":
                found.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif "Glyph" in text and "missing" in text:
                found.append(f"cell {i}: {text.strip().splitlines()[-1]}")
    return found


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_notebook_executes_headlessly_on_fresh_pipeline_output(stem, request):
    _require(NOTEBOOKS[stem])
    dirs, status = request.getfixturevalue("pipeline")  # only now: skipped notebooks cost nothing
    for module in NOTEBOOKS[stem]:
        assert not status.get(module), status[module]
    nb = run_notebook(config.NOTEBOOKS_DIR / f"{stem}.py", dirs, timeout=300)
    assert _problems(nb) == []
    # The injected folders were used: the notebook ran on the temporary pipeline, not on data/.
    injected = [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(injected) == 1 and str(dirs["data_dir"]) in injected[0].source
