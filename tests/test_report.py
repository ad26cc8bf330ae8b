"""The report: parameter injection, reproducible notebook pages, and an index that names every figure
and input with its hash, built identically twice."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from analysis import config, report
from analysis.errors import InputError
from analysis.tables import write_tables

# A small notebook in the project's shape: parameters, a figure saved through the one helper, a widget.
_NOTEBOOK = '''\
# %% [markdown]
# # 09 · Does the machinery work?
#
# **Reads** nothing. **Writes** a figure into `figures_dir`.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from IPython.display import display

from analysis import config
from analysis.plots import apply_style, save_figure

# %% tags=["parameters"]
data_dir = config.PROCESSED_DIR
figures_dir = config.FIGURES_DIR
label = "政務"

# %%
apply_style()
fig, ax = plt.subplots()
ax.plot([2013, 2014, 2015], [1, 3, 2])
ax.set_title(f"電子{label}")
save_figure(fig, "machinery", Path(figures_dir))
display(fig)
plt.close(fig)

# %%
import ipywidgets as widgets

widgets.Text(value="雲計算")
'''


def _write_notebook(folder: Path, name: str = "09-machinery", text: str = _NOTEBOOK) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# Parameters


def test_injected_cell_follows_parameters_and_sets_only_declared_names(tmp_path):
    nb = jupytext.read(_write_notebook(tmp_path))
    out = report.inject_parameters(nb, {"figures_dir": tmp_path / "f", "label": "雲", "not_declared": 1})
    tags = [c.metadata.get("tags", []) for c in out.cells]
    at = tags.index(["parameters"])
    assert tags[at + 1] == ["injected-parameters"]
    injected = out.cells[at + 1].source
    assert f"figures_dir = {str(tmp_path / 'f')!r}" in injected
    assert "label = '雲'" in injected
    assert "not_declared" not in injected and "data_dir" not in injected
    assert len(nb.cells) + 1 == len(out.cells), "the original notebook is left unchanged"


def test_injection_refuses_values_that_are_not_literals(tmp_path):
    nb = jupytext.read(_write_notebook(tmp_path))
    with pytest.raises((ValueError, SyntaxError)):
        report.inject_parameters(nb, {"label": object()})


def test_notebook_without_parameters_cell_is_left_alone():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert report.parameter_names(nb) == []
    assert len(report.inject_parameters(nb, {"x": 2}).cells) == 1


def test_strip_volatile_drops_widget_ids_and_timings():
    cell = nbformat.v4.new_code_cell("w")
    cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "Text(value='a')", report._WIDGET_MIME: {"model_id": "abc123"}}, execution_count=1)]
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {"state": {}}})
    report.strip_volatile(nb)
    assert "widgets" not in nb.metadata
    assert "execution" not in nb.cells[0].metadata
    assert nb.cells[0].outputs[0]["data"] == {"text/plain": "Text(value='a')"}
    assert nb.cells[0]["id"] == "cell-000"


# --------------------------------------------------------------------------------------------------
# Notebook pages


@pytest.mark.filterwarnings("error:Glyph")
def test_notebook_pages_are_byte_identical_across_builds_and_use_the_injected_folders(tmp_path):
    src = _write_notebook(tmp_path / "nbs")
    pages = []
    for build in ("a", "b"):
        written = report.build_notebook_pages(
            None, {"figures_dir": tmp_path / "fig", "label": "服務"}, tmp_path / build, tmp_path / "nbs", timeout=120
        )
        assert written == [tmp_path / build / f"{src.stem}.html"]
        pages.append(written[0].read_bytes())
    assert pages[0] == pages[1]
    page = pages[0].decode("utf-8")
    assert "data:image/png;base64" in page, "the figure is embedded in the page"
    assert "服務" in page  # only the injected cell holds this value
    assert "model_id" not in page and "Glyph" not in page
    assert (tmp_path / "fig" / "machinery.png").is_file() and (tmp_path / "fig" / "machinery.svg").is_file()


def test_failing_notebook_is_an_input_error_naming_it(tmp_path):
    bad = _NOTEBOOK.replace('label = "政務"', 'label = "政務"\n\n# %%\nraise RuntimeError("on purpose")')
    src = _write_notebook(tmp_path / "nbs", "08-broken", bad)
    with pytest.raises(InputError) as err:
        report.build_notebook_pages(None, {}, tmp_path / "out", tmp_path / "nbs", timeout=60)
    assert str(src) in str(err.value) and "RuntimeError: on purpose" in str(err.value)
    assert not (tmp_path / "out").exists(), "no page for a failed notebook"


def test_unknown_notebook_name_is_an_input_error(tmp_path):
    _write_notebook(tmp_path / "nbs")
    with pytest.raises(InputError):
        report.build_notebook_pages(["07-nothing"], {}, tmp_path / "out", tmp_path / "nbs")


# --------------------------------------------------------------------------------------------------
# Index


@pytest.fixture
def corpus(tmp_path) -> dict[str, Path]:
    """A tiny finished run: a raw file, a policies table, a report table, two figures, one page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from analysis.plots import apply_style, save_figure

    raw = tmp_path / "raw" / "compilation.txt"
    raw.parent.mkdir()
    raw.write_bytes("2019年\n\n甲政策\n\n《國務院關於甲的通知》要求……\n".encode("utf-8"))
    proc, tables, figures, out = tmp_path / "processed", tmp_path / "tables", tmp_path / "figures", tmp_path / "report"
    write_tables(
        {
            proc / config.POLICIES_FILE: pd.DataFrame({"policy_id": ["2019-01", "2019-02"], "source_file": [raw.name, raw.name]}),
            tables / "keyword_by_year.csv": pd.DataFrame({"term": ["雲計算", "大數據", "一網通辦"], "year": [2019, 2019, 2019]}),
        }
    )
    apply_style()
    for name in ("zeta_figure", "alpha_figure"):
        fig, ax = plt.subplots()
        ax.bar(["甲", "乙"], [1, 2])
        save_figure(fig, name, figures)
        plt.close(fig)
    (out / "notebooks").mkdir(parents=True)
    nbs = tmp_path / "nbs"
    _write_notebook(nbs)
    (out / "notebooks" / "09-machinery.html").write_text("<html></html>", encoding="utf-8")
    return {"raw": raw, "proc": proc, "tables": tables, "figures": figures, "out": out, "nbs": nbs}


def _build(c: dict[str, Path]) -> str:
    path = report.build_index(c["out"], [c["raw"]], c["proc"], c["tables"], c["figures"], c["out"] / "notebooks", c["nbs"])
    return path.read_text(encoding="utf-8")


def test_index_lists_every_figure_input_hash_table_notebook_and_version(corpus):
    page = _build(corpus)
    for name in ("alpha_figure", "zeta_figure"):
        assert f'src="../figures/{name}.png"' in page
        assert f'href="../figures/{name}.svg"' in page
        assert hashlib.sha256((corpus["figures"] / f"{name}.png").read_bytes()).hexdigest() in page
    assert page.index("alpha_figure") < page.index("zeta_figure"), "figures in a stable (sorted) order"
    assert page.count("<figcaption>") == 2
    assert hashlib.sha256(corpus["raw"].read_bytes()).hexdigest() in page
    # the raw file gave two policies; the report table has three rows
    assert re.search(r"compilation\.txt</a></td><td class=\"num\">\d+</td><td class=\"num\">2</td>", page)
    assert re.search(r"keyword_by_year\.csv</a></td><td class=\"num\">3</td>", page)
    assert 'href="notebooks/09-machinery.html"' in page and "Does the machinery work?" in page
    import pandas

    assert f"<td>pandas</td><td>{pandas.__version__}</td>" in page


def test_index_is_byte_identical_across_builds_and_has_no_timestamps(corpus):
    first = (_build(corpus), (corpus["out"] / "index.html").read_bytes())
    second = (_build(corpus), (corpus["out"] / "index.html").read_bytes())
    assert first[1] == second[1]
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", first[0])
    assert str(corpus["out"]) not in first[0], "no absolute paths of this machine"


def test_index_uses_captions_from_plot_modules(monkeypatch, corpus):
    monkeypatch.setattr(report, "figure_captions", lambda: {"alpha_figure": "甲乙兩項的比較"})
    page = _build(corpus)
    assert "<strong>alpha_figure</strong>: 甲乙兩項的比較" in page


def test_caption_lookup_exact_then_longest_contained_name():
    captions = {"keyness": "K", "by_year": "B", "issuer_by_year": "I", "map": "M"}
    assert report.caption_for("issuer_by_year", captions) == "I"
    assert report.caption_for("keyness_by_year", captions) == "K"  # longest key inside the name
    assert report.caption_for("cluster_map", captions) == "M"
    assert report.caption_for("heatmap_x", captions) == "heatmap x"  # "map" is not a whole part


def test_project_figures_get_captions_from_their_plot_functions():
    captions = report.figure_captions()
    for figure in ("keyword_trends", "keyness_by_year", "issuer_network", "cluster_k_selection", "cluster_map"):
        assert report.caption_for(figure, captions) != figure.replace("_", " "), figure
    assert all("``" not in c for c in captions.values())


def test_missing_input_file_is_an_input_error(corpus):
    with pytest.raises(InputError):
        report.build_index(corpus["out"], [corpus["raw"].with_name("absent.txt")], corpus["proc"], corpus["tables"], corpus["figures"])


# --------------------------------------------------------------------------------------------------
# CLI


def test_cli_help_and_bad_data_dir(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "analysis", "report", *a], capture_output=True, text=True)  # noqa: E731
    helped = run("--help")
    assert helped.returncode == 0 and "--index-only" in helped.stdout and "--only" in helped.stdout
    bad = run(str(tmp_path / "nowhere"), "--index-only")
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"{tmp_path / 'nowhere'}: data folder not found"
