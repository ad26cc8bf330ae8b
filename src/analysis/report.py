"""Execute the notebooks headlessly and build reports/index.html (inputs, hashes, figures, versions).

The notebooks (``notebooks/NN-name.py``, percent format, paired with ``.ipynb``) are read from their
``.py`` side, given this run's folders in a cell injected after their ``parameters`` cell, executed
with nbclient and exported to ``reports/notebooks/NN-name.html``. ``reports/index.html`` then says
what was analysed (each input file with its SHA-256 and what it became), shows every figure of the
figures folder with a caption, links the notebooks and tables, and lists the package versions.
Nothing written carries a timestamp or a random id, so a rebuild from the same inputs in the same
environment gives byte-identical files.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import html
import importlib
import importlib.metadata
import inspect
import os
import pkgutil
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import config
from .errors import InputError
from .tables import write_bytes_atomically

#: Distributions whose versions the index reports (the numbers a reader needs to rebuild a figure).
REPORTED_PACKAGES = (
    "policy-analysis",
    "pandas",
    "numpy",
    "pyarrow",
    "jieba",
    "rjieba",
    "OpenCC",
    "scikit-learn",
    "networkx",
    "matplotlib",
    "seaborn",
    "mplfonts",
    "jupytext",
    "nbclient",
    "nbconvert",
    "ipykernel",
)

NOTEBOOK_GLOB = "[0-9][0-9]-*.py"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
# Outputs that hold a live widget's random model id; the text/plain twin of the output is kept.
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_KERNEL_ENV = {
    # The Makefile exports MPLBACKEND=Agg for the CLI; the kernel must draw inline instead so the
    # figures appear in the exported HTML.
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONHASHSEED": "0",
    "ANALYSIS_NO_PROGRESS": "1",
}


# --------------------------------------------------------------------------------------------------
# Notebooks


def find_notebooks(notebooks_dir: str | Path = config.NOTEBOOKS_DIR) -> list[Path]:
    """The percent-format sources ``NN-name.py`` of ``notebooks_dir``, in their numbered order."""
    return sorted(Path(notebooks_dir).glob(NOTEBOOK_GLOB))


def read_notebook(path: str | Path):
    """Read a notebook from its jupytext ``.py`` (or an ``.ipynb``) as an ``nbformat`` node."""
    import jupytext

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such notebook")
    return jupytext.read(path)


def parameter_names(nb) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (empty if it has none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            names: list[str] = []
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []


def inject_parameters(nb, parameters: Mapping[str, object]):
    """Return a copy of ``nb`` with a cell after its ``parameters`` cell that sets ``parameters``.

    Only names the notebook declares are set (a notebook that does not use a folder is not handed
    one); values must be literals (str, numbers, lists, tuples, dicts, bool, None) and paths, which are
    passed as strings. A notebook without a ``parameters`` cell is returned unchanged.
    """
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    declared = parameter_names(nb)
    lines = [f"{name} = {_literal(parameters[name])}" for name in declared if name in parameters]
    if not lines:
        return nb
    at = next(i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in c.get("metadata", {}).get("tags", []))
    cell = nbformat.v4.new_code_cell("# Parameters injected by `python -m analysis report`\n" + "\n".join(lines))
    cell.metadata["tags"] = [INJECTED_TAG]
    cell.pop("id", None)
    nb.cells.insert(at + 1, cell)
    _renumber_cell_ids(nb)
    return nb


def _literal(value: object) -> str:
    if isinstance(value, Path):
        value = str(value)
    text = repr(value)
    ast.literal_eval(text)  # refuse anything a reader could not retype
    return text


def _renumber_cell_ids(nb) -> None:
    # nbformat would give new cells random ids; number them so the exported HTML is reproducible.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"


def execute_notebook(nb, cwd: str | Path = config.NOTEBOOKS_DIR, timeout: int = 600, kernel_name: str = "python3"):
    """Execute ``nb`` headlessly (nbclient) in ``cwd`` and return it without volatile content.

    No timing metadata, no widget state or widget model ids are kept. Raises
    ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    from nbclient import NotebookClient

    env = {**os.environ, **_KERNEL_ENV}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        record_timing=False,
        # Kept during the run (nbclient's Output-widget capture needs it), dropped by strip_volatile.
        store_widget_state=True,
        # ipykernel warns on stderr about unencrypted local TCP; that noise is not the notebook's.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(env=env)
    return strip_volatile(nb)


def strip_volatile(nb):
    """Remove what changes between two runs of the same notebook (widget ids, timings) in place."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and _WIDGET_MIME in data:
                del data[_WIDGET_MIME]
    _renumber_cell_ids(nb)
    return nb


def notebook_html(nb, name: str) -> str:
    """Export an executed notebook to standalone HTML (nbconvert's lab template, images inline)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", embed_images=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return body


def notebook_question(nb) -> str:
    """The first heading of the notebook's first markdown cell (what the notebook asks)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.lstrip().startswith("#"):
                    return line.lstrip("# ").strip()
            return cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return ""


def run_notebook(path: str | Path, parameters: Mapping[str, object] | None = None, timeout: int = 600):
    """Read, parametrise and execute one notebook source; return the executed notebook."""
    path = Path(path)
    nb = inject_parameters(read_notebook(path), parameters or {})
    return execute_notebook(nb, cwd=path.parent, timeout=timeout)


# --------------------------------------------------------------------------------------------------
# The index


@dataclass(frozen=True)
class FileEntry:
    """A file the report names: where it is (relative to the index), its hash and what it holds."""

    label: str
    href: str
    sha256: str
    size: int
    rows: int | None = None
    note: str = ""


@dataclass(frozen=True)
class FigureEntry:
    """One figure of the figures folder: its PNG, the other formats beside it, a caption."""

    name: str
    href: str
    sha256: str
    caption: str
    other_formats: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NotebookEntry:
    """One exported notebook and the question it answers."""

    name: str
    href: str
    question: str
    source_href: str


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def table_rows(path: str | Path) -> int:
    """Number of data rows of a project table (CSV with header, or parquet)."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    import pandas as pd

    return len(pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False))


def package_versions(packages: Iterable[str] = REPORTED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``not installed`` when missing), with Python first."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def figure_captions() -> dict[str, str]:
    """Captions for figure names, gathered from the plot modules of ``analysis.plots``.

    A plot module may define ``FIGURE_CAPTIONS = {"figure_name": "caption", …}``; otherwise the first
    docstring line of its public plot functions serves, keyed by the function's name without a
    ``plot_`` prefix or ``_figure`` suffix (``plot_issuer_counts`` → ``issuer_counts``). Modules that
    fail to import are skipped (their figures get a plain caption).
    """
    from . import plots

    captions: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(plots.__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"{plots.__name__}.{info.name}")
        except Exception:  # noqa: BLE001 - a broken plot module must not stop the index
            continue
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_") and fn.__doc__:
                key = name.removeprefix("plot_").removesuffix("_figure")
                first = fn.__doc__.strip().splitlines()[0].strip()
                captions.setdefault(key, re.sub(r"``?([^`]+)``?", r"\1", first))  # reST literals read as plain text
        explicit = getattr(module, "FIGURE_CAPTIONS", None)
        if isinstance(explicit, Mapping):
            captions.update({str(k): str(v) for k, v in explicit.items()})
    return captions


def caption_for(figure: str, captions: Mapping[str, str]) -> str:
    """The caption of ``figure``: an exact key; else the key found earliest (then longest) among the
    ``_``-separated parts of its name (``keyness`` for ``keyness_by_year``, ``k_selection`` for
    ``cluster_k_selection``); else the name itself."""
    if figure in captions:
        return captions[figure]
    hits = []
    for key in captions:
        m = re.search(rf"(?:^|_)({re.escape(key)})(?:_|$)", figure) if key else None
        if m:
            hits.append((m.start(1), -len(key), key))
    return captions[min(hits)[2]] if hits else figure.replace("_", " ")


def _rel(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def _display_path(path: Path) -> str:
    # Show paths inside the checkout relative to it, so the index does not depend on where it lives.
    try:
        return path.resolve().relative_to(config.PROJ_ROOT).as_posix()
    except ValueError:
        return path.name


def collect_inputs(raw_files: Sequence[Path], data_dir: Path, out_dir: Path) -> list[FileEntry]:
    """Entries for the raw input files, each with how many policies it gave (from policies.csv)."""
    counts: dict[str, int] = {}
    policies = data_dir / config.POLICIES_FILE
    if policies.is_file():
        import pandas as pd

        df = pd.read_csv(policies, encoding="utf-8-sig", dtype=str, keep_default_na=False, usecols=["source_file"])
        counts = df["source_file"].value_counts().to_dict()
    entries = []
    for path in sorted(raw_files, key=lambda p: p.name):
        if not path.is_file():
            raise InputError(path, "input file not found")
        n = counts.get(path.name)
        entries.append(
            FileEntry(
                label=_display_path(path),
                href=_rel(path, out_dir),
                sha256=sha256_file(path),
                size=path.stat().st_size,
                rows=n,
                note="policies parsed" if n is not None else "not in policies.csv",
            )
        )
    return entries


def collect_tables(dirs: Sequence[Path], out_dir: Path) -> list[FileEntry]:
    """Entries for every CSV/parquet table in ``dirs`` (processed data, report tables)."""
    entries = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.suffix in {".csv", ".parquet"} and not p.name.startswith(".")):
            entries.append(FileEntry(_display_path(path), _rel(path, out_dir), sha256_file(path), path.stat().st_size, table_rows(path)))
    return entries


def collect_figures(figures_dir: Path, out_dir: Path, captions: Mapping[str, str]) -> list[FigureEntry]:
    """One entry per figure (a PNG, or another format when no PNG exists) of ``figures_dir``."""
    if not figures_dir.is_dir():
        return []
    by_name: dict[str, list[Path]] = {}
    for path in sorted(figures_dir.iterdir()):
        if path.suffix.lower() in {".png", ".svg", ".pdf"} and not path.name.startswith("."):
            by_name.setdefault(path.stem, []).append(path)
    entries = []
    for name, paths in sorted(by_name.items()):
        main = next((p for p in paths if p.suffix == ".png"), paths[0])
        others = tuple((p.suffix.lstrip("."), _rel(p, out_dir)) for p in paths if p != main)
        caption = caption_for(name, captions)
        entries.append(FigureEntry(name, _rel(main, out_dir), sha256_file(main), caption, others))
    return entries


def collect_notebooks(html_dir: Path, notebooks_dir: Path, out_dir: Path) -> list[NotebookEntry]:
    """Entries for the exported notebooks that exist, with the question each one asks."""
    entries = []
    for src in find_notebooks(notebooks_dir):
        page = html_dir / f"{src.stem}.html"
        if not page.is_file():
            continue
        ipynb = src.with_suffix(".ipynb")
        entries.append(NotebookEntry(src.stem, _rel(page, out_dir), notebook_question(read_notebook(src)), _rel(ipynb if ipynb.is_file() else src, out_dir)))
    return entries


def render_index(
    inputs: Sequence[FileEntry],
    tables: Sequence[FileEntry],
    figures: Sequence[FigureEntry],
    notebooks: Sequence[NotebookEntry],
    versions: Mapping[str, str],
    font: str = "",
) -> str:
    """The report's front page as HTML text: a pure function of its arguments (no clock, no ids)."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="zh-Hant">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Policy-corpus analysis: report</title>",
        "<style>",
        "body{font-family:system-ui,'Noto Sans CJK SC','Noto Sans CJK TC',sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;line-height:1.5}",
        "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}",
        "td.num{text-align:right}code{font-size:.85em;word-break:break-all}",
        "figure{margin:2rem 0;border-top:1px solid #ddd;padding-top:1rem}figure img{max-width:100%;height:auto}",
        "figcaption{margin-top:.5rem}",
        "</style>",
        "</head>",
        "<body>",
        "<h1>Policy-corpus analysis</h1>",
        "<p>Built by <code>make report</code> (<code>python -m analysis report</code>). Every file below is named with its "
        "SHA-256, so a figure pasted elsewhere can be traced to the exact inputs and software that made it.</p>",
        '<h2 id="inputs">What was analysed</h2>',
    ]
    if inputs:
        out += ["<table>", "<tr><th>input file</th><th>bytes</th><th>policies parsed</th><th>SHA-256</th></tr>"]
        for f in inputs:
            rows = "" if f.rows is None else str(f.rows)
            out.append(f'<tr><td><a href="{e(f.href)}">{e(f.label)}</a></td><td class="num">{f.size}</td><td class="num">{rows}</td><td><code>{f.sha256}</code></td></tr>')
        out.append("</table>")
    else:
        out.append("<p>No input files were named.</p>")

    out.append('<h2 id="notebooks">Notebooks</h2>')
    if notebooks:
        out.append("<ul>")
        for nb in notebooks:
            out.append(f'<li><a href="{e(nb.href)}">{e(nb.name)}</a>: {e(nb.question)} (<a href="{e(nb.source_href)}">source</a>)</li>')
        out.append("</ul>")
    else:
        out.append("<p>No executed notebooks.</p>")

    out.append('<h2 id="figures">Figures</h2>')
    if not figures:
        out.append("<p>No figures.</p>")
    for fig in figures:
        others = "".join(f' · <a href="{e(href)}">{e(fmt.upper())}</a>' for fmt, href in fig.other_formats)
        out += [
            f'<figure id="fig-{e(fig.name)}">',
            f'<a href="{e(fig.href)}"><img src="{e(fig.href)}" alt="{e(fig.caption)}" loading="lazy"></a>',
            f"<figcaption><strong>{e(fig.name)}</strong>: {e(fig.caption)}<br>"
            f'<a href="{e(fig.href)}">PNG</a>{others} · SHA-256 <code>{fig.sha256}</code></figcaption>',
            "</figure>",
        ]

    out.append('<h2 id="tables">Tables</h2>')
    if tables:
        out += ["<table>", "<tr><th>table</th><th>rows</th><th>bytes</th><th>SHA-256</th></tr>"]
        for t in tables:
            out.append(f'<tr><td><a href="{e(t.href)}">{e(t.label)}</a></td><td class="num">{t.rows}</td><td class="num">{t.size}</td><td><code>{t.sha256}</code></td></tr>')
        out.append("</table>")
    else:
        out.append("<p>No tables.</p>")

    out += ['<h2 id="versions">Software</h2>', "<table>", "<tr><th>package</th><th>version</th></tr>"]
    for name, version in versions.items():
        out.append(f"<tr><td>{e(name)}</td><td>{e(version)}</td></tr>")
    out.append("</table>")
    if font:
        out.append(f"<p>Figures are drawn with the font family <code>{e(font)}</code>.</p>")
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def build_index(
    out_dir: str | Path = config.REPORTS_DIR,
    raw_files: Sequence[str | Path] = (),
    data_dir: str | Path = config.PROCESSED_DIR,
    tables_dir: str | Path = config.TABLES_DIR,
    figures_dir: str | Path = config.FIGURES_DIR,
    html_dir: str | Path | None = None,
    notebooks_dir: str | Path = config.NOTEBOOKS_DIR,
) -> Path:
    """Write ``out_dir/index.html`` from the files as they are now; return its path."""
    out_dir = Path(out_dir)
    html_dir = Path(html_dir) if html_dir is not None else out_dir / "notebooks"
    data_dir, tables_dir, figures_dir = Path(data_dir), Path(tables_dir), Path(figures_dir)
    from .plots import cjk_font_family

    text = render_index(
        inputs=collect_inputs([Path(p) for p in raw_files], data_dir, out_dir),
        tables=collect_tables([data_dir, tables_dir], out_dir),
        figures=collect_figures(figures_dir, out_dir, figure_captions()),
        notebooks=collect_notebooks(html_dir, Path(notebooks_dir), out_dir),
        versions=package_versions(),
        font=cjk_font_family(),
    )
    target = out_dir / "index.html"
    write_bytes_atomically([(target, text.encode("utf-8"))])
    return target


def _error_line(traceback_text: str) -> str:
    # nbclient's message is the whole traceback; its last 'SomethingError: …' line says what failed.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", traceback_text)  # the kernel colours its tracebacks
    lines = [ln.strip() for ln in plain.splitlines()]
    return next((ln for ln in reversed(lines) if re.match(r"^[\w.]*(Error|Exception|Warning)\b", ln)), "a cell raised an error")


def build_notebook_pages(
    names: Sequence[str] | None = None,
    parameters: Mapping[str, object] | None = None,
    html_dir: str | Path = config.NOTEBOOK_REPORTS_DIR,
    notebooks_dir: str | Path = config.NOTEBOOKS_DIR,
    timeout: int = 600,
) -> list[Path]:
    """Execute the named notebooks (all when ``names`` is None) and write ``html_dir/NN-name.html``."""
    sources = find_notebooks(notebooks_dir)
    if names:
        wanted = {Path(n).stem for n in names}
        unknown = sorted(wanted - {s.stem for s in sources})
        if unknown:
            raise InputError(Path(notebooks_dir) / f"{unknown[0]}.py", "no such notebook")
        sources = [s for s in sources if s.stem in wanted]
    from nbclient.exceptions import CellExecutionError

    written = []
    for src in sources:
        try:
            nb = run_notebook(src, parameters, timeout=timeout)
        except CellExecutionError as err:
            raise InputError(src, f"notebook failed: {_error_line(str(err))}") from None
        page = Path(html_dir) / f"{src.stem}.html"
        write_bytes_atomically([(page, notebook_html(nb, src.stem).encode("utf-8"))])
        written.append(page)
    return written


# --------------------------------------------------------------------------------------------------
# CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis report``."""
    parser.epilog = (
        "examples:\n"
        "  python -m analysis report                          # every notebook, then index.html\n"
        "  python -m analysis report --only 02-keyword-trends --no-index\n"
        "  python -m analysis report --index-only --raw data/raw/*.txt\n"
        "  python -m analysis report /tmp/other/processed --tables-dir /tmp/other/tables \\\n"
        "      --figures-dir /tmp/other/figures --out-dir /tmp/other/report --raw other.txt"
    )
    parser.add_argument("data_dir", nargs="?", type=Path, default=config.PROCESSED_DIR, help="folder with policies.csv, tokens.parquet, … (the parse/tokens output)")
    parser.add_argument("--tables-dir", type=Path, default=config.TABLES_DIR, help="folder of the analysis tables the notebooks read")
    parser.add_argument("--figures-dir", type=Path, default=config.FIGURES_DIR, help="folder of the figures (notebooks save theirs here; the index shows them all)")
    parser.add_argument("--out-dir", type=Path, default=config.REPORTS_DIR, help="where index.html and notebooks/NN-name.html are written")
    parser.add_argument("--notebooks-dir", type=Path, default=config.NOTEBOOKS_DIR, help="folder of the NN-name.py notebook sources")
    parser.add_argument("--raw", nargs="*", type=Path, default=None, metavar="FILE", help="the raw input files to list and hash in the index (default: data/raw/*.txt)")
    parser.add_argument("--only", action="append", metavar="NAME", help="execute only this notebook (e.g. 02-keyword-trends); repeatable")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--no-index", action="store_true", help="execute notebooks but do not write index.html")
    what.add_argument("--index-only", action="store_true", help="write index.html from existing files without executing notebooks")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a notebook cell may run")


def run(args: argparse.Namespace) -> int:
    """Execute the notebooks and/or write the index as the options say; returns the exit status."""
    html_dir = args.out_dir / "notebooks"
    raw = args.raw if args.raw is not None else sorted(config.RAW_DIR.glob("*.txt"))
    for folder, what in ((args.data_dir, "data folder"), (args.notebooks_dir, "notebooks folder")):
        if not folder.is_dir():
            raise InputError(folder, f"{what} not found")
    if not args.index_only:
        parameters = {"data_dir": args.data_dir.resolve(), "tables_dir": args.tables_dir.resolve(), "figures_dir": args.figures_dir.resolve()}
        build_notebook_pages(args.only, parameters, html_dir, args.notebooks_dir, args.timeout)
    if not args.no_index:
        build_index(args.out_dir, raw, args.data_dir, args.tables_dir, args.figures_dir, html_dir, args.notebooks_dir)
    return 0
