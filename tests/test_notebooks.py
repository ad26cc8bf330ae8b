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

# Each notebook and the figures it must save (the names `make report` gives them).
NOTEBOOKS = {
    "01-parse-and-inspect": (),
    "02-keyword-trends": ("keyword_trends", "keyword_heatmap", "keyness_by_year"),
    "03-issuing-bodies": ("issuer_counts", "issuer_by_year", "issuer_network", "policy_citations"),
    "04-topic-clusters": ("cluster_k_selection", "cluster_map", "cluster_by_year", "cluster_terms"),
}
# Smaller than the defaults where a notebook's cost grows with them; also proves they are honoured.
EXTRA_PARAMETERS = {"04-topic-clusters": {"k_max": 4, "seeds": 3}}
SEED = sorted(config.RAW_DIR.glob("*.txt"))


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> dict[str, Path]:  # {"data_dir": folder}
    """What the notebooks read (parse and tokens output of the bundled compilation), made once.

    Made by the same CLI commands `make report` runs, in a temporary folder; the notebooks compute
    everything else themselves.
    """
    import os

    root = tmp_path_factory.mktemp("pipeline")
    dirs = {"data_dir": root / "processed"}
    env = {**os.environ, "ANALYSIS_NO_PROGRESS": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    for argv in (["parse", *map(str, SEED), "--out", str(dirs["data_dir"])], ["tokens", str(dirs["data_dir"])]):
        proc = subprocess.run([sys.executable, "-m", "analysis", *argv], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, f"`{argv[0]}` exited {proc.returncode}:\n{proc.stderr}"
    return dirs


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


def test_nbstripout_finds_nothing_to_strip():
    # The same check a pre-commit hook or CI would run (outputs, execution counts, volatile metadata).
    paths = [str(config.NOTEBOOKS_DIR / f"{stem}.ipynb") for stem in sorted(NOTEBOOKS)]
    proc = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", *paths], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


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
def test_notebook_executes_headlessly_on_fresh_pipeline_output(stem, pipeline, tmp_path):
    figures_dir = tmp_path / "figures"
    parameters = {**pipeline, "figures_dir": figures_dir, **EXTRA_PARAMETERS.get(stem, {})}
    nb = run_notebook(config.NOTEBOOKS_DIR / f"{stem}.py", parameters, timeout=300)
    assert _problems(nb) == []
    # The injected parameters were used: the notebook ran on the temporary pipeline, not on data/.
    injected = [c for c in nb.cells if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(injected) == 1 and str(pipeline["data_dir"]) in injected[0].source
    saved = sorted(p.name for p in figures_dir.glob("*")) if figures_dir.exists() else []
    assert saved == sorted(f"{name}.{ext}" for name in NOTEBOOKS[stem] for ext in ("png", "svg"))


def test_problem_scan_catches_missing_glyphs_and_errors():
    # The execution test is only as strict as this scan.
    import nbformat

    warn = nbformat.v4.new_output("stream", name="stderr", text="x.py:3: UserWarning: Glyph 25919 (\\N{CJK UNIFIED IDEOGRAPH-653F}) missing from font(s) DejaVu Sans.\n")
    err = nbformat.v4.new_output("error", ename="KeyError", evalue="'year'", traceback=[])
    ok = nbformat.v4.new_output("stream", name="stdout", text="35 policies\n")
    cell = nbformat.v4.new_code_cell("x", outputs=[ok, warn, err])
    found = _problems(nbformat.v4.new_notebook(cells=[cell]))
    assert len(found) == 2 and "Glyph 25919" in found[0] and "KeyError" in found[1]
