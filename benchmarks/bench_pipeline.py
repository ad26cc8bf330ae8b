"""Time every pipeline stage on a synthetic corpus, against plain jieba in the same run.

Generates a compilation of ``--policies`` policies (``generate_corpus.py``), then runs the stages
in this process exactly as ``make`` runs them (``python -m analysis parse|tokens|keywords|clusters``,
through :func:`analysis.cli.main`, so file reading and writing are timed too), ``--repeat`` times,
and reports each stage's median. In the same run and on the same policy texts it times the baseline
the issue sets: plain ``jieba.lcut`` over every policy text (after the same Traditional→Simplified
conversion the tokens stage does, which is left out of the baseline's time), and the bare
``rjieba.cut`` over the same texts. Peak memory is measured per stage: the process's peak resident
set size is reset before the stage (Linux ``/proc/self/clear_refs``) and read after it (``VmHWM``), so
a stage is not charged for what an earlier one left behind; ``peak_rss_mb`` is the largest stage
peak, ``process_peak_rss_mb`` the process's lifetime peak (the largest stage peak or the peak since
the last stage began, baseline included), and worker processes are reported separately.

    python benchmarks/bench_pipeline.py --policies 20000 --json reports/benchmarks/bench_20000.json
    python benchmarks/bench_pipeline.py --summarize reports/benchmarks

``--summarize DIR`` reads every ``bench_*.json`` in DIR and writes ``summary.csv`` and
``summary.md`` there: per-policy cost of each stage at each size and its ratio to the smallest size.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJ_ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(PROJ_ROOT / "src"))

import generate_corpus  # noqa: E402

STAGES = ("parse", "tokens", "keywords", "clusters")
RAW_NAME = "synthetic_compilation.txt"


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(who).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Reset this process's peak RSS (Linux ≥ 4.0: ``5 > /proc/self/clear_refs``), so the peak read
    after a stage is that stage's own; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    """The peak RSS since the last :func:`_reset_peak` (``VmHWM``), or the process's lifetime peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _rss_mb()


def _stage_argv(stage: str, raw: Path, proc: Path, tables: Path, figures: Path, extra: Sequence[str]) -> list[str]:
    """The command line ``make`` uses for ``stage`` (see the Makefile), plus any extra options."""
    if stage == "parse":
        return ["parse", str(raw), "--out", str(proc), *extra]
    if stage == "tokens":
        return ["tokens", str(proc), *extra]
    return [stage, str(proc), "--tables-dir", str(tables), "--figures-dir", str(figures), *extra]


def _run_stage(argv: list[str]) -> float:
    """Run one CLI command in this process and return its wall time; raise if it fails."""
    from analysis.cli import main as cli_main

    gc.collect()
    start = time.perf_counter()
    # Commands print summaries on stdout; keep the benchmark's own table readable.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        status = cli_main(argv)
    elapsed = time.perf_counter() - start
    if status:
        raise RuntimeError(f"python -m analysis {' '.join(argv)} exited with status {status}")
    return elapsed


def _drop_token_cache(proc: Path) -> None:
    """Delete the tokens stage's cache so every run segments from scratch (a warm cache would time
    a file read, not segmentation)."""
    import shutil

    try:
        from analysis.tokens import CACHE_DIRNAME
    except ImportError:
        return
    shutil.rmtree(proc / CACHE_DIRNAME, ignore_errors=True)


def _policy_texts(proc: Path, table: Any, policies: int, seed: int) -> list[str]:
    """The texts the tokens stage segments: ``policies.csv``'s text column when parse ran (``table``),
    else the generator's summaries (the same paragraphs before the parser's cleaning)."""
    if table is not None:
        return table["text"].tolist()
    material = generate_corpus.load_material(_default_source())
    return [s for _, _, s in generate_corpus.iter_policies(material, policies, seed, material.years)]


def _default_source() -> Path:
    return sorted(generate_corpus.DEFAULT_SOURCE_DIR.glob("*.txt"))[0]


def _time_segmenters(texts: list[str], policies: Any, engines: Sequence[str]) -> dict:
    """Time plain jieba, bare rjieba and the tokenizers of :mod:`analysis.engine` on the same texts.

    The baseline is ``jieba.lcut`` of a plain ``jieba.Tokenizer`` holding the tokens stage's words
    with its HMM setting (:func:`analysis.tokens.jieba_reference_tokenizer`), over the Simplified
    texts (conversion untimed): like for like with what the stage segments. Token lists are counted,
    not kept. ``engines`` names engine runs to time over the whole policy table, each producing the
    full tokens table partition by partition (streamed, not kept): ``local1``, ``local2`` (two fork
    workers), ``dask2`` (a two-process LocalCluster).
    """
    from analysis import engine as eng
    from analysis.docnumber import find_doc_numbers
    from analysis.script import to_simplified
    from analysis.tokens import jieba_reference_tokenizer, load_segmenter

    segmenter = load_segmenter()
    reference = jieba_reference_tokenizer(segmenter)
    fast = eng.rjieba_for(segmenter)
    converted = [to_simplified(t) for t in texts]
    out: dict = {}
    start = time.perf_counter()
    jieba_tokens = sum(len(reference.lcut(t, HMM=segmenter.hmm)) for t in converted)
    out["baseline_jieba_s"] = time.perf_counter() - start
    start = time.perf_counter()
    rjieba_tokens = sum(len(fast.cut(t, segmenter.hmm)) for t in converted)
    out["rjieba_cut_s"] = time.perf_counter() - start
    # Identity on a sample keeps the check cheap at 200,000 policies; the tests compare in full.
    step = max(1, len(converted) // 2000)
    same = all(reference.lcut(t, HMM=segmenter.hmm) == fast.cut(t, segmenter.hmm) for t in converted[::step])
    out.update(jieba_tokens=jieba_tokens, rjieba_tokens=rjieba_tokens, rjieba_identical_on_sample=same and jieba_tokens == rjieba_tokens)
    start = time.perf_counter()
    for t in texts:
        find_doc_numbers(t)
    out["docnumber_s"] = time.perf_counter() - start
    runs = {"local1": eng.Engine("local", 1), "local2": eng.Engine("local", 2), "dask2": eng.Engine("dask", 2)}
    timed = {}
    for name in engines:
        if policies is None:
            break
        start = time.perf_counter()
        rows = sum(len(frame) for frame in eng.iter_tokens(policies, segmenter, runs[name]))
        timed[name] = time.perf_counter() - start
        timed[f"{name}_rows"] = rows
    out["engines"] = timed
    return out


def run_benchmark(
    policies: int,
    repeat: int = 3,
    seed: int = 0,
    workdir: Path | None = None,
    stages: Sequence[str] = STAGES,
    stage_args: dict[str, list[str]] | None = None,
    baseline: bool = True,
    engines: Sequence[str] = ("local1", "local2"),
) -> dict:
    """Generate a corpus of ``policies`` policies and time each stage ``repeat`` times.

    Returns the result record (see the module docstring); stages whose command does not exist yet
    are recorded as ``None`` with the reason under ``"skipped"``.
    """
    stage_args = stage_args or {}
    own_dir = workdir is None
    tmp = Path(tempfile.mkdtemp(prefix="bench_")) if own_dir else Path(workdir)
    raw, proc, tables, figures = tmp / RAW_NAME, tmp / "processed", tmp / "tables", tmp / "figures"
    start = time.perf_counter()
    chars = generate_corpus.write_compilation(raw, policies, seed=seed)
    generate_s = time.perf_counter() - start
    times: dict[str, list[float]] = {s: [] for s in stages}
    rss_after: dict[str, float] = {}
    stage_peak: dict[str, float] = {}
    skipped: dict[str, str] = {s: "not selected" for s in STAGES if s not in stages}
    for _ in range(repeat):
        for stage in stages:
            if stage in skipped:
                continue
            if stage == "tokens":
                _drop_token_cache(proc)
            gc.collect()
            _reset_peak()
            try:
                times[stage].append(_run_stage(_stage_argv(stage, raw, proc, tables, figures, stage_args.get(stage, []))))
            except (ModuleNotFoundError, RuntimeError) as err:
                skipped[stage] = str(err)
                # later stages read this one's output
                for later in STAGES[STAGES.index(stage) + 1 :]:
                    skipped.setdefault(later, f"{stage} did not run")
                break
            rss_after[stage] = _rss_mb()
            stage_peak[stage] = max(stage_peak.get(stage, 0.0), _peak_mb())
    table = None
    if (proc / "policies.csv").exists():
        from analysis.tables import read_policy_columns

        table = read_policy_columns(proc, ["policy_id", "text"])
    texts = _policy_texts(proc, table, policies, seed)
    text_chars = sum(map(len, texts))
    seg = _time_segmenters(texts, table, engines) if baseline else {}
    medians = {s: (statistics.median(times[s]) if times[s] else None) for s in STAGES if s in times}
    for s in STAGES:
        medians.setdefault(s, None)
    parsed = None if table is None else len(table)
    done = [v for v in medians.values() if v is not None]
    result = {
        "policies": policies,
        "parsed_policies": parsed,
        "chars": chars,
        "text_chars": text_chars,
        "repeat": repeat,
        "seed": seed,
        "stages": medians,
        "stage_runs": {s: times.get(s, []) for s in STAGES},
        "end_to_end_s": sum(done) if len(done) == len(STAGES) else None,
        "per_policy_ms": {s: (v / policies * 1000 if v is not None else None) for s, v in medians.items()},
        "baseline_jieba_s": seg.get("baseline_jieba_s"),
        "rjieba_cut_s": seg.get("rjieba_cut_s"),
        "segmentation_speedup": _ratio(seg.get("baseline_jieba_s"), medians.get("tokens")),
        "bare_rjieba_speedup": _ratio(seg.get("baseline_jieba_s"), seg.get("rjieba_cut_s")),
        "rjieba_identical_on_sample": seg.get("rjieba_identical_on_sample"),
        "jieba_tokens": seg.get("jieba_tokens"),
        "docnumber_s": seg.get("docnumber_s"),
        "engines_s": {k: v for k, v in seg.get("engines", {}).items() if not k.endswith("_rows")},
        "engine_rows": {k.removesuffix("_rows"): v for k, v in seg.get("engines", {}).items() if k.endswith("_rows")},
        "engine_speedup": {k: _ratio(seg.get("baseline_jieba_s"), v) for k, v in seg.get("engines", {}).items() if not k.endswith("_rows")},
        "peak_rss_mb": max(stage_peak.values(), default=None),
        "stage_peak_rss_mb": stage_peak,
        # resetting the peak resets getrusage's too: the lifetime peak is the largest of the readings
        "process_peak_rss_mb": max([*stage_peak.values(), _peak_mb()]),
        "peak_rss_children_mb": _rss_mb(resource.RUSAGE_CHILDREN),
        "rss_after_stage_mb": rss_after,
        "generate_s": generate_s,
        "stage_args": {s: list(a) for s, a in stage_args.items()},
        "skipped": skipped,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    if own_dir:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _ratio(slow: float | None, fast: float | None) -> float | None:
    return slow / fast if slow is not None and fast else None


def format_table(result: dict) -> str:
    """A readable table of one benchmark record."""
    n = result["policies"]
    rows = [f"{n:,} policies, {result['chars']:,} characters, median of {result['repeat']} run(s)", ""]
    rows.append(f"{'stage':<22}{'seconds':>10}{'ms/policy':>12}")
    for stage in STAGES:
        v = result["stages"].get(stage)
        rows.append(f"{stage:<22}{_fmt(v, '.2f'):>10}{_fmt(result['per_policy_ms'].get(stage), '.4f'):>12}")
    rows.append(f"{'end to end':<22}{_fmt(result['end_to_end_s'], '.2f'):>10}")
    rows.append(f"{'jieba.lcut baseline':<22}{_fmt(result['baseline_jieba_s'], '.2f'):>10}")
    rows.append(f"{'rjieba.cut (bare)':<22}{_fmt(result['rjieba_cut_s'], '.2f'):>10}")
    rows.append(f"{'find_doc_numbers':<22}{_fmt(result.get('docnumber_s'), '.2f'):>10}")
    for name, seconds in result.get("engines_s", {}).items():
        rows.append(f"{'engine ' + name:<22}{_fmt(seconds, '.2f'):>10}   {_fmt(result['engine_speedup'][name], '.1f')}x jieba")
    rows.append("")
    rows.append(f"segmentation speed-up (baseline / tokens stage): {_fmt(result['segmentation_speedup'], '.1f')}x")
    rows.append(f"bare rjieba speed-up (baseline / rjieba.cut):    {_fmt(result['bare_rjieba_speedup'], '.1f')}x")
    peaks = ", ".join(f"{stage} {mb:.0f}" for stage, mb in result["stage_peak_rss_mb"].items())
    rows.append(f"peak RSS of the stages: {_fmt(result['peak_rss_mb'], '.0f')} MB ({peaks}; largest worker {result['peak_rss_children_mb']:.0f} MB)")
    rows.append(f"peak RSS of this process, baseline included: {result['process_peak_rss_mb']:.0f} MB")
    for stage, why in result["skipped"].items():
        rows.append(f"skipped {stage}: {why}")
    return "\n".join(rows)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summarize(directory: Path) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.md`` from every ``bench_*.json`` in ``directory``.

    Rows are sorted by size; ``*_cost_ratio`` is the per-policy cost relative to the smallest size
    (the issue's flatness target is ≤ 1.3).
    """
    records = sorted((json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("bench_*.json")), key=lambda r: r["policies"])
    if not records:
        raise SystemExit(f"{directory}: no bench_*.json to summarise")
    base = records[0]
    header = ["policies", "chars", *[f"{s}_s" for s in STAGES], "end_to_end_s", "baseline_jieba_s", "segmentation_speedup", "peak_rss_mb", *[f"{s}_cost_ratio" for s in STAGES], "end_to_end_cost_ratio"]
    lines = [",".join(header)]
    seconds = [
        "| policies | parse s | tokens s | keywords s | clusters s | end to end s | jieba.lcut s | tokens stage vs jieba | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    costs = [
        "| policies | parse | tokens | keywords | clusters | end to end |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        ratios = [_cost_ratio(r, base, s) for s in STAGES]
        e2e = _cost_ratio(r, base, None)
        row = [r["policies"], r["chars"], *[r["stages"].get(s) for s in STAGES], r["end_to_end_s"], r["baseline_jieba_s"], r["segmentation_speedup"], r["peak_rss_mb"], *ratios, e2e]
        lines.append(",".join("" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row))
        seconds.append("| " + " | ".join([f"{r['policies']:,}", *[_fmt(r["stages"].get(s), ".2f") for s in STAGES], _fmt(r["end_to_end_s"], ".1f"), _fmt(r["baseline_jieba_s"], ".1f"), _fmt(r["segmentation_speedup"], ".1f") + "×", f"{r['peak_rss_mb']:.0f}"]) + " |")
        per = [_per_policy_ms(r, s) for s in STAGES] + [_per_policy_ms(r, None)]
        costs.append("| " + " | ".join([f"{r['policies']:,}", *[f"{_fmt(ms, '.3f')} ({_fmt(ratio, '.2f')})" for ms, ratio in zip(per, [*ratios, e2e])]]) + " |")
    engines = sorted({name for r in records for name in r.get("engines_s", {})})
    seg = [
        "| policies | jieba.lcut s | bare rjieba.cut s (×) | find_doc_numbers s | " + " | ".join(f"engine {e} s (×)" for e in engines) + " |",
        "|---:|---:|---:|---:|" + "---:|" * len(engines),
    ]
    for r in records:
        cells = [f"{r['policies']:,}", _fmt(r.get("baseline_jieba_s"), ".2f"), f"{_fmt(r.get('rjieba_cut_s'), '.2f')} ({_fmt(r.get('bare_rjieba_speedup'), '.0f')}×)", _fmt(r.get("docnumber_s"), ".2f")]
        cells += [f"{_fmt(r.get('engines_s', {}).get(e), '.2f')} ({_fmt(r.get('engine_speedup', {}).get(e), '.1f')}×)" for e in engines]
        seg.append("| " + " | ".join(cells) + " |")
    memory = ["| policies | " + " | ".join(f"{s} MB" for s in STAGES) + " | largest worker MB |", "|---:|" + "---:|" * (len(STAGES) + 1)]
    for r in records:
        peaks = r.get("stage_peak_rss_mb", {})
        memory.append("| " + " | ".join([f"{r['policies']:,}", *[_fmt(peaks.get(s), ".0f") for s in STAGES], _fmt(r.get("peak_rss_children_mb"), ".0f")]) + " |")
    md = [
        "Median seconds per stage:", "", *seconds, "",
        "Peak resident memory of each stage (the stage's own peak; forked tokens workers separately):", "", *memory, "",
        f"Milliseconds per policy (in brackets: relative to {base['policies']:,} policies):", "", *costs, "",
        "Segmentation on the same texts (× = speed-up over jieba.lcut; engines build the whole tokens table, streamed):", "", *seg,
    ]
    csv_path, md_path = directory / "summary.csv", directory / "summary.md"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return csv_path, md_path


def _per_policy_ms(record: dict, stage: str | None) -> float | None:
    seconds = record["end_to_end_s"] if stage is None else record["stages"].get(stage)
    return None if seconds is None else seconds / record["policies"] * 1000


def _cost_ratio(record: dict, base: dict, stage: str | None) -> float | None:
    now = record["end_to_end_s"] if stage is None else record["stages"].get(stage)
    then = base["end_to_end_s"] if stage is None else base["stages"].get(stage)
    if now is None or not then:
        return None
    return (now / record["policies"]) / (then / base["policies"])


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0],
        epilog="Example: python benchmarks/bench_pipeline.py --policies 2000 --json /tmp/bench.json --repeat 3",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--policies", "-n", type=int, help="size of the synthetic corpus")
    parser.add_argument("--json", type=Path, help="write the result record here")
    parser.add_argument("--repeat", "-r", type=int, default=3, help="runs per stage; the median is reported")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpus")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the corpus and outputs here (default: a temporary folder, deleted)")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to time, in pipeline order")
    parser.add_argument("--stage-args", action="append", default=[], metavar="STAGE=ARGS", help="extra options for one stage, e.g. tokens='--engine local --workers 2'")
    parser.add_argument("--no-baseline", action="store_true", help="skip the jieba.lcut baseline and engine timings (slow at large sizes)")
    parser.add_argument("--engines", nargs="*", choices=("local1", "local2", "dask2"), default=["local1", "local2"], help="analysis.engine tokenizer runs to time on the parsed table (local2: two fork workers; dask2: two-process LocalCluster)")
    parser.add_argument("--summarize", type=Path, metavar="DIR", help="instead of running, summarise DIR/bench_*.json into summary.csv and summary.md")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.summarize:
        for path in summarize(args.summarize):
            print(path)
        print((args.summarize / "summary.md").read_text(encoding="utf-8"))
        return 0
    if not args.policies or args.policies < 1:
        parser.error("--policies N (N ≥ 1) is required unless --summarize is given")
    stage_args: dict[str, list[str]] = {}
    for spec in args.stage_args:
        stage, _, rest = spec.partition("=")
        if stage not in STAGES:
            parser.error(f"--stage-args: unknown stage {stage!r}")
        stage_args[stage] = rest.split()
    stages = [s for s in STAGES if s in args.stages]
    result = run_benchmark(args.policies, args.repeat, args.seed, args.workdir, stages, stage_args, not args.no_baseline, args.engines)
    print(format_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
