"""The parser on the seed (every field against a hand-checked table), on re-encoded and Simplified
copies, on constructed compilations of shapes the seed lacks, and on bad input."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import opencc
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import config, tables
from analysis.errors import InputError
from analysis.parse import ParseResult, parse_compilation, parse_lines, write_parse_result

SEED = config.RAW_DIR / "egov_policies_2013_2019.txt"
EXPECTED = Path(__file__).parent / "data" / "seed_expected_policies.csv"
T2S = opencc.OpenCC("t2s")


def _expected() -> pd.DataFrame:
    return pd.read_csv(EXPECTED, comment="#", dtype=str, keep_default_na=False)


def _comparable(policies: pd.DataFrame) -> pd.DataFrame:
    cols = list(_expected().columns)
    return policies[cols].astype("string").fillna("").astype(str).reset_index(drop=True)


@pytest.fixture(scope="module")
def seed_result():
    return parse_compilation([SEED])


def test_seed_yields_every_policy_with_every_field_right(seed_result):
    got = _comparable(seed_result.policies)
    expected = _expected()
    assert len(got) == 35
    for col in expected.columns:
        mismatches = [(e, g) for e, g in zip(expected[col], got[col]) if e != g]
        assert not mismatches, f"{col}: {mismatches[:3]}"


def test_seed_texts_are_the_summaries_cleaned(seed_result):
    report = seed_result.report
    summaries = report[report.kind == "policy_summary"].set_index("policy_id")["raw"]
    for row in seed_result.policies.itertuples():
        assert "??" not in row.text and "<20" not in row.text
        raw = summaries[row.policy_id].strip()
        assert row.text[:6] == raw[:6] and row.text[-6:] == raw[-6:]
    spaced = seed_result.policies.loc[seed_result.policies.title.str.contains("技術體系建設指南"), "title"].iloc[0]
    assert "互聯網+政務服務" in spaced and " + " not in spaced
    restored = seed_result.policies.set_index("policy_id").loc["2015-01", "text"]
    assert restored.startswith("《國務院關於印發促進大數據發展行動綱要的通知》")


def test_every_non_blank_line_is_accounted_for(seed_result):
    lines = SEED.read_text(encoding="utf-8").splitlines()
    non_blank = {i for i, line in enumerate(lines, 1) if line.strip()}
    report = seed_result.report
    primary = report[~report.kind.isin(["repair", "warning"])]
    assert sorted(primary.line) == sorted(non_blank)
    kinds = Counter(primary.kind)
    assert kinds["year_heading"] == 7 and kinds["policy_summary"] == 35 and kinds["policy_heading"] == 34
    assert kinds["trailer"] == 2 and kinds["title"] == 1
    repairs = report[report.kind == "repair"]
    assert repairs.detail.str.contains("garbage").sum() == 6  # the six lines with ?? in the seed
    assert repairs.detail.str.contains("spaced").sum() == 1


def test_seed_network_facts(seed_result):
    issuers = seed_result.policy_issuers
    joint = issuers.groupby("policy_id")["issuer"].apply(frozenset)
    assert (joint == frozenset({"中共中央辦公廳", "國務院辦公廳"})).sum() == 3
    assert (joint == frozenset({"國家發展改革委", "中央網信辦"})).sum() == 1
    assert set(issuers.role) == {"lead", "joint"}
    assert not issuers.duplicated(["policy_id", "issuer"]).any()


def _variant(tmp_path: Path, name: str, text: str, encoding: str, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


@pytest.mark.parametrize(
    "encoding,newline",
    [("gb18030", "\n"), ("cp950", "\n"), ("utf-8-sig", "\r\n"), ("utf-16", "\n"), ("utf-8", "\r")],
)
def test_reencoded_seed_gives_the_same_table(tmp_path, seed_result, encoding, newline):
    text = SEED.read_text(encoding="utf-8")
    path = _variant(tmp_path, SEED.name, text, encoding, newline)
    result = parse_compilation([path])
    pd.testing.assert_frame_equal(result.policies, seed_result.policies)
    pd.testing.assert_frame_equal(result.policy_issuers, seed_result.policy_issuers)


def test_simplified_seed_gives_the_same_table_in_simplified(tmp_path, seed_result):
    text = T2S.convert(SEED.read_text(encoding="utf-8"))
    path = _variant(tmp_path, SEED.name, text, "gb18030")
    result = parse_compilation([path])
    expected = seed_result.policies.copy()
    for col in ["title", "document_title", "doc_number", "doc_prefix", "issuers", "policy_type", "text"]:
        expected[col] = expected[col].map(T2S.convert)
    pd.testing.assert_frame_equal(result.policies, expected)
    assert list(result.policy_issuers.issuer) == [T2S.convert(i) for i in seed_result.policy_issuers.issuer]


CONSTRUCTED = """\
各地数据共享政策汇编

本文汇总近年来的数据共享政策，供参考。

二〇二〇年

关于推进政务数据共享的指导意见

国务院办公厅印发《关于推进政务数据共享的指导意见》（国办发［２０２０］ 12 号）指出，要加快数据共享交换平台建设。

国务院令第716号公布《政府信息公开条例》，要求各级行政机关主动公开政府信息。

2021年

数据安全管理办法

工业和信息化部、公安部、国家市场监督管理总局联合印发《数据安全管理办法》（工信部联网安〔2021〕7号），明确数据分类分级保护要求。

七部门关于印发《智慧城市建设指南》的通知(发改高技〔2021〕 300号)提出，推进城市数据一体化。

某某省大数据局印发《某某省公共数据管理办法》，要求建设省级公共数据平台。

一个没有摘要的标题

2022年

政务服务一网通办工作要点

《国务院办公厅关于印发的通知》(国办函〔2022〕5号)要求，推进一网通办。????

其中，重点推进“互联网 + 政务服务”。

分享到：
相关文章：
政务服务一网通办工作要点
"""


def test_constructed_simplified_compilation(tmp_path):
    path = _variant(tmp_path, "constructed.txt", CONSTRUCTED, "utf-8")
    result = parse_compilation([path])
    p = result.policies.set_index("policy_id")
    assert list(p.index) == ["2020-01", "2020-02", "2021-01", "2021-02", "2021-03", "2021-04", "2022-01"]
    assert p.loc["2020-01", "doc_number"] == "国办发〔2020〕12号"
    assert p.loc["2020-01", "issuers"] == "国务院办公厅"
    # a summary with no heading line is its own policy, titled by its document
    assert p.loc["2020-02", "title"] == "政府信息公开条例"
    assert p.loc["2020-02", "doc_number"] == "国务院令第716号" and p.loc["2020-02", "doc_year"] is pd.NA
    assert p.loc["2020-02", "issuers"] == "国务院" and p.loc["2020-02", "policy_type"] == "条例"
    # joint issuers from the text; the number's prefix body leads
    assert p.loc["2021-01", "issuers"] == "工业和信息化部;公安部;国家市场监督管理总局"
    assert p.loc["2021-02", "issuers"] == "国家发展改革委" and p.loc["2021-02", "issuer_count"] == 7
    assert p.loc["2021-02", "document_title"] == "关于印发智慧城市建设指南的通知"
    # an unknown body is kept as written and reported
    assert p.loc["2021-03", "issuers"] == "某某省大数据局"
    assert p.loc["2021-04", "title"] == "一个没有摘要的标题" and p.loc["2021-04", "text"] == ""
    # the empty 《…印發的通知》 slot is filled from the heading; the continuation paragraph is kept
    assert p.loc["2022-01", "document_title"] == "国务院办公厅关于印发政务服务一网通办工作要点的通知"
    assert p.loc["2022-01", "text"].endswith("重点推进“互联网+政务服务”。")
    assert "?" not in p.loc["2022-01", "text"]
    levels = result.policy_issuers.set_index(["policy_id", "issuer"])["level"]
    assert levels[("2021-03", "某某省大数据局")] == "未登记"
    report = result.report
    assert set(report.loc[report.kind == "trailer", "line"]) == {33, 34, 35}
    warnings = report.loc[report.kind == "warning", "detail"]
    assert warnings.str.contains("某某省大数据局").any()
    assert warnings.str.contains("heading without a summary").any()


def test_several_files_get_unique_ids(tmp_path):
    a = _variant(tmp_path, "a.txt", CONSTRUCTED, "utf-8")
    b = _variant(tmp_path, "b.txt", CONSTRUCTED, "gb18030")
    result = parse_compilation([a, b])
    assert result.policies.policy_id.is_unique and len(result.policies) == 14
    assert set(result.policies.source_file) == {"a.txt", "b.txt"}


# --------------------------------------------------------------------------------- bad input


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=config.PROJ_ROOT)


BAD_INPUTS = {
    "empty.txt": (b"", "file is empty"),
    "binary.bin": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    "no_years.txt": ("國務院關於某事的通知\n\n這是一段沒有年份標題的文字。\n".encode(), "no year headings"),
    "bad_utf8.txt": ("2014年\n\n標題\n\n".encode() + b"\xe4\xb8\xad\xff\xfe\n" + "正文。\n".encode() * 50, "invalid utf-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, name):
    data, message = BAD_INPUTS[name]
    bad = tmp_path / name
    bad.write_bytes(data)
    good = tmp_path / "good.txt"
    good.write_text(CONSTRUCTED, encoding="utf-8")
    out = tmp_path / "out"
    proc = _run_cli("parse", str(good), str(bad), "--out", str(out))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(bad)) and message in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_bad_bytes_name_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(BAD_INPUTS["bad_utf8.txt"][0])
    with pytest.raises(InputError) as err:
        parse_compilation([bad])
    assert err.value.line == 5


@pytest.mark.parametrize("target", ["missing.txt", "."])
def test_missing_path_and_directory(tmp_path, target):
    proc = _run_cli("parse", str(tmp_path / target), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and str(tmp_path) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_forced_wrong_encoding_is_an_error(tmp_path):
    path = _variant(tmp_path, "seed_gb.txt", SEED.read_text(encoding="utf-8"), "gb18030")
    with pytest.raises(InputError, match="invalid utf-8"):
        parse_compilation([path], encoding="utf-8")
    assert len(parse_compilation([path], encoding="gbk").policies) == 35


def test_cli_writes_the_three_tables(tmp_path):
    proc = _run_cli("parse", str(SEED), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "35 policies" in proc.stdout
    policies = pd.read_csv(tmp_path / "policies.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert len(policies) == 35 and (tmp_path / "policy_issuers.csv").exists() and (tmp_path / "parse_report.csv").exists()
    assert (tmp_path / "policies.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # a spreadsheet reads it as UTF-8


def test_writing_twice_is_byte_identical(tmp_path, seed_result):
    first = write_parse_result(seed_result, tmp_path / "a")
    second = write_parse_result(parse_compilation([SEED]), tmp_path / "b")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()


def test_tables_streamed_to_disk_have_the_bytes_of_to_csv_bytes(tmp_path, seed_result):
    # the writer encodes chunk by chunk; the bytes must be those of the one-string serialisation
    paths = write_parse_result(seed_result, tmp_path)
    frames = (seed_result.policies, seed_result.policy_issuers, seed_result.report)
    assert any(seed_result.policies["text"].str.contains("[\n,\"]", regex=True))  # quoting is exercised
    for path, frame in zip(paths, frames):
        assert path.read_bytes() == tables.to_csv_bytes(frame)


def test_a_table_failing_validation_writes_nothing(tmp_path, seed_result):
    paths = write_parse_result(seed_result, tmp_path)
    before = {p: p.read_bytes() for p in paths}
    broken_report = seed_result.report.copy()
    broken_report.loc[len(broken_report) - 1, "kind"] = "no-such-kind"  # the last table written
    with pytest.raises(tables.SchemaError, match="kind"):
        write_parse_result(ParseResult(seed_result.policies.iloc[:3], seed_result.policy_issuers.iloc[:3], broken_report), tmp_path)
    assert {p: p.read_bytes() for p in paths} == before  # the two valid tables were not renamed in
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temporary files left


@pytest.mark.parametrize("storage", ["object", "str"])
@pytest.mark.parametrize("bad_id", ["2014-3", "2014-03a", "２０１４-03", "2014-０３", "14-03"])
def test_policy_id_pattern_is_checked_alike_in_either_string_storage(seed_result, storage, bad_id):
    # Arrow-backed strings are matched by RE2, objects by re: full-width digits fail in both
    policies = seed_result.policies.copy()
    assert tables.validate(policies.astype({"policy_id": storage}), tables.POLICIES) is not None
    policies.loc[4, "policy_id"] = bad_id
    with pytest.raises(tables.SchemaError, match=f"policy_id value '{bad_id}' does not match"):
        tables.validate(policies.astype({"policy_id": storage}), tables.POLICIES, "x.csv")


# --------------------------------------------------------------------------------- fuzz

_ALPHABET = st.sampled_from(list("年〔〕()《》“”、，。；：?？+ 國务院辦公廳关于印發的通知意见号號第令一二〇0123456789\n\r\t<>部委局等联合"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(_ALPHABET, max_size=80), max_size=12), st.sampled_from(["2014年", "２０１５年", "二〇一六年", ""]))
def test_parser_never_raises_unexpectedly(lines, heading):
    text_lines = [heading, *lines] if heading else lines
    try:
        result = parse_lines("fuzz.txt", text_lines, year_counters=Counter())
    except InputError as err:
        assert str(err).startswith("fuzz.txt")
        return
    assert result.policies.policy_id.is_unique
    assert set(result.policy_issuers.policy_id) <= set(result.policies.policy_id)


LISTED = """\
政策汇编（二〇二三年版）

一、2022年

1. 《关于加快数据要素市场建设的意见》

国家发展改革委印发《关于加快数据要素市场建设的意见》，提出建立数据产权制度。

（2）关于印发数字政府建设指南的通知（国办函〔2022〕88号）

通知要求，各地区加快建设数字政府。

二、2023年度（1项）

关于开展数据安全检查的通知

为落实网络安全法，工业和信息化部、国家互联网信息办公室联合开展数据安全检查。
"""


def test_list_markers_and_numbers_on_heading_lines(tmp_path):
    result = parse_compilation([_variant(tmp_path, "listed.txt", LISTED, "utf-16")])
    p = result.policies.set_index("policy_id")
    assert list(p.index) == ["2022-01", "2022-02", "2023-01"]
    assert p.loc["2022-01", "title"] == "关于加快数据要素市场建设的意见"
    assert p.loc["2022-01", "issuers"] == "国家发展改革委" and p.loc["2022-01", "policy_type"] == "意见"
    assert p.loc["2022-02", "title"] == "关于印发数字政府建设指南的通知"
    assert p.loc["2022-02", "doc_number"] == "国办函〔2022〕88号" and p.loc["2022-02", "issuers"] == "国务院办公厅"
    # no 《》 title and no number: the issuers are not guessed from prose, and that is reported
    assert p.loc["2023-01", "issuers"] == ""
    report = result.report
    assert report.loc[report.kind == "warning", "detail"].str.contains("no issuing body").any()
    assert report.loc[report.kind == "repair", "detail"].str.contains("list marker").sum() == 2


def test_titles_without_quotes_laws_adopted_by_name_and_editor_notes():
    path = Path(__file__).parent / "data" / "constructed_digital_gov_2020_2022.txt"
    result = parse_compilation([path])
    p = result.policies.set_index("policy_id")
    assert len(p) == 8
    # a formal title written without 《》 before its number
    assert p.loc["2022-02", "document_title"] == "国务院办公厅关于印发全国一体化政务大数据体系建设指南的通知"
    assert p.loc["2022-02", "doc_number"] == "国办函〔2022〕102号"
    # a law with no order number: the adopting body is named before 通过
    assert p.loc["2021-03", "issuers"] == "全国人大常委会" and p.loc["2021-03", "doc_number"] == ""
    assert p.loc["2021-02", "doc_number"] == "主席令第84号"
    # the headless last policy with three joint bodies
    assert p.loc["2022-03", "issuers"] == "中央网信办;国家发展改革委;工业和信息化部"
    # the bracketed source note at the end is a trailer, not a policy
    report = result.report
    assert report.loc[report.raw.str.contains("本文来源"), "kind"].tolist() == ["trailer"]
