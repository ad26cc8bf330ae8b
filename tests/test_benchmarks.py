"""The synthetic-corpus generator and the benchmark harness (behaviour only: no timings asserted)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from analysis import config
from analysis.script import to_simplified

BENCH_DIR = config.PROJ_ROOT / "benchmarks"
SEED_FILE = config.RAW_DIR / "egov_policies_2013_2019.txt"


def _load(name: str):
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(BENCH_DIR))
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


gen = _load("generate_corpus")
bench = _load("bench_pipeline")

YEAR_LINE = re.compile(r"^(\d{4})年$")


def _generate(tmp_path: Path, n: int, name: str = "c.txt", **kw) -> Path:
    out = tmp_path / name
    gen.write_compilation(out, n, source=SEED_FILE, **kw)
    return out


def _blocks(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = _generate(tmp_path, 50, "a.txt", seed=7).read_bytes()
    b = _generate(tmp_path, 50, "b.txt", seed=7).read_bytes()
    c = _generate(tmp_path, 50, "c.txt", seed=8).read_bytes()
    assert a == b
    assert a != c


def test_layout_title_preamble_years_and_policy_pairs(tmp_path):
    lines = _blocks(_generate(tmp_path, 10, years=[2020, 2021, 2022]).read_text(encoding="utf-8"))
    seed_lines = _blocks(SEED_FILE.read_text(encoding="utf-8"))
    assert lines[0] == seed_lines[0]  # the source's title line
    years = [int(m.group(1)) for ln in lines if (m := YEAR_LINE.match(ln))]
    assert years == [2020, 2021, 2022]
    # 10 policies over 3 years: 4, 3, 3, each a heading and a summary between year headings
    starts = [i for i, ln in enumerate(lines) if YEAR_LINE.match(ln)] + [len(lines)]
    assert [(starts[i + 1] - starts[i] - 1) // 2 for i in range(3)] == [4, 3, 3]
    summaries = [ln for i in range(3) for ln in lines[starts[i] + 2 : starts[i + 1] : 2]]
    assert len(summaries) == 10
    assert all(s.startswith("《") or "印發《" in s for s in summaries)


def test_summaries_recombine_real_sentences_and_numbers(tmp_path):
    seed_text = SEED_FILE.read_text(encoding="utf-8")
    text = _generate(tmp_path, 40).read_text(encoding="utf-8")
    numbers = re.findall(r"([\u4e00-\u9fff]+)〔(\d{4})〕(\d+)號", text)
    assert len(numbers) > 20
    seed_prefixes = set(re.findall(r"([\u4e00-\u9fff]+)\s*〔", seed_text))
    assert {p for p, _, _ in numbers} <= seed_prefixes
    for line in _blocks(text):
        if line.startswith("《") or "印發《" in line:
            # everything after the opening sentence is whole sentences of the source
            for sentence in re.findall(r"[^。]+。?", line)[1:]:
                assert sentence in seed_text


def test_simplified_output_is_the_t2s_of_the_traditional_one(tmp_path):
    trad = _generate(tmp_path, 30, "t.txt").read_text(encoding="utf-8")
    simp = _generate(tmp_path, 30, "s.txt", simplified=True).read_text(encoding="utf-8")
    assert simp != trad
    assert simp == to_simplified(trad)
    assert "国务院" in simp and "國務院" not in simp


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-8-sig"])
def test_any_encoding_carries_the_same_text(tmp_path, encoding):
    reference = _generate(tmp_path, 20, "u.txt", simplified=True).read_text(encoding="utf-8")
    other = _generate(tmp_path, 20, "e.txt", simplified=True, encoding=encoding)
    assert other.read_bytes() != reference.encode("utf-8")
    assert other.read_text(encoding=encoding) == reference


def test_cli_help_and_bad_source(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        gen.main(["--help"])
    assert exit_.value.code == 0
    assert "--simplified" in capsys.readouterr().out
    bad = tmp_path / "bad.txt"
    bad.write_text("沒有年份的文件\n\n一段文字。\n", encoding="utf-8")
    assert gen.main(["-n", "5", "-o", str(tmp_path / "x.txt"), "--source", str(bad)]) == 2
    assert str(tmp_path / "x.txt") in capsys.readouterr().err
    # Simplified text in Big5: refused, and no partial file is left behind
    assert gen.main(["-n", "5", "-o", str(tmp_path / "big5.txt"), "--simplified", "--encoding", "cp950"]) == 2
    assert "cp950" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]


def _parse(raw: Path, out: Path):
    pytest.importorskip("analysis.parse")
    from analysis.cli import main as cli_main
    from analysis.tables import load_policies

    assert cli_main(["parse", str(raw), "--out", str(out)]) == 0
    return load_policies(out)


@pytest.mark.parametrize("simplified", [False, True])
def test_every_generated_policy_parses_back(tmp_path, simplified):
    encoding = "gb18030" if simplified else "utf-8"
    raw = _generate(tmp_path, 60, simplified=simplified, encoding=encoding)
    material = gen.load_material(SEED_FILE)
    expected = list(gen.iter_policies(material, 60, 0, material.years))
    convert = to_simplified if simplified else str
    policies = _parse(raw, tmp_path / "processed")
    assert len(policies) == 60
    assert policies["year"].tolist() == [y for y, _, _ in expected]
    # the parser may repair blanks in a heading (互聯網 + 政務服務 → 互聯網+政務服務), nothing else
    assert [t.replace(" ", "") for t in policies["title"]] == [convert(h).replace(" ", "") for _, h, _ in expected]


def test_bench_runs_tiny_and_writes_the_keys(tmp_path, capsys):
    out = tmp_path / "bench.json"
    # parse and tokens only: keywords and clusters spend ~10 s each on imports and figures at any size
    argv = ["--policies", "30", "--json", str(out), "--repeat", "2", "--workdir", str(tmp_path / "w"), "--stages", "parse", "tokens"]
    assert bench.main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    for key in ("policies", "chars", "stages", "baseline_jieba_s", "peak_rss_mb", "segmentation_speedup", "per_policy_ms"):
        assert key in result
    assert result["policies"] == 30
    assert set(result["stages"]) == {"parse", "tokens", "keywords", "clusters"}
    assert result["baseline_jieba_s"] > 0 and result["peak_rss_mb"] > 0
    # each stage's own peak, no more than the process's lifetime peak; the stage peak is their max
    peaks = result["stage_peak_rss_mb"]
    assert set(peaks) == {"parse", "tokens"} and all(0 < mb <= result["process_peak_rss_mb"] for mb in peaks.values())
    assert result["peak_rss_mb"] == max(peaks.values())
    assert result["rjieba_identical_on_sample"] is True
    assert result["parsed_policies"] == 30
    assert result["stages"]["parse"] > 0 and result["stages"]["tokens"] > 0
    assert len(result["stage_runs"]["tokens"]) == 2
    assert result["skipped"] == {"keywords": "not selected", "clusters": "not selected"}
    assert "segmentation speed-up" in capsys.readouterr().out


def test_summary_reports_cost_ratios_against_the_smallest_size(tmp_path):
    def record(n, seconds):
        stages = {s: seconds for s in bench.STAGES}
        return {"policies": n, "chars": n * 10, "stages": stages, "end_to_end_s": 4 * seconds, "baseline_jieba_s": 1.0, "segmentation_speedup": 2.0, "peak_rss_mb": 100.0}

    (tmp_path / "bench_10.json").write_text(json.dumps(record(10, 1.0)), encoding="utf-8")
    (tmp_path / "bench_100.json").write_text(json.dumps(record(100, 20.0)), encoding="utf-8")
    csv_path, md_path = bench.summarize(tmp_path)
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    big = dict(zip(header, rows[2].split(",")))
    assert big["policies"] == "100"
    assert float(big["end_to_end_cost_ratio"]) == pytest.approx(2.0)
    assert "| 100 |" in md_path.read_text(encoding="utf-8")
