"""Parse compilation files into policies.csv, policy_issuers.csv and parse_report.csv.

A compilation lists policies under year headings (``2014年``); each policy is a short heading line
(its name) followed by a summary paragraph naming the document, its number (發文字號) and the bodies
that issued it. A summary with no heading line is a policy of its own. Lines are told apart by their
shape, never by their content in one particular file, and every non-blank line is accounted for in
the parse report, as are the repairs of web artifacts (``??`` garbage, stray ``<2014>`` markers,
spaced ``互聯網 + 政務服務``, trailers such as 分享到:).

All matching runs on a Simplified copy of each line (OpenCC ``t2s`` keeps lengths), so both scripts
parse alike; every output field is a slice of, or a repair to, the input in its own script.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import config, tables
from .decode import read_compilation
from .docnumber import DocNumber, chinese_numeral_to_int, find_doc_numbers
from .errors import InputError
from .progress import progress
from .registry import IssuerRegistry, load_registry
from .script import to_simplified

# ---------------------------------------------------------------------------------------------
# Line shapes (all patterns are written in Simplified script and applied to the t2s copy)

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# A list marker before a heading: 一、 （一） 1. 1、 (1) ① …
_LIST_MARKER = r"(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d{1,2}[、.．)）](?!\d)|[①-⑳])"
_YEAR_HEADING = re.compile(
    rf"^{_LIST_MARKER}?\s*[（(【\[]?\s*(?P<year>(?:19|20)\d{{2}}|[〇○零一二三四五六七八九]{{4}})\s*(?:年度?)?\s*[)）】\]]?\s*(?:[（(][^（()）]{{0,12}}[)）])?\s*[:：]?$"
)
# A heading is one short line without sentence punctuation outside brackets and quotes.
_MAX_HEADING_CHARS = 90
_SENTENCE_PUNCT = set("。，,；;！!？?")
_QUOTED = re.compile(r"《[^《》]*》|“[^“”]*”|\"[^\"]*\"|「[^「」]*」|[（(][^（()）]*[)）]")
# Web-page furniture that ends an article: everything from the first such line on is trailer.
_TRAILER = re.compile(
    r"^[（(【\[]?\s*(?:分享到|相关(?:文章|阅读|新闻|链接)|责任编辑|打印|关闭|上一篇|下一篇|返回顶部|扫一扫|版权所有|(?:本文|文章|信息)?来源[:：]|纠错)"
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TWO_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff][^\u3400-\u9fff\uf900-\ufaff]*[\u3400-\u9fff\uf900-\ufaff]")
# A whole line in brackets is an editor's note (（本文有删节）), never a policy.
_BRACKETED_NOTE = re.compile(r"^[（(【\[][^（()）【】\[\]]*[)）】\]]$")
# Verbs by which the bodies named before them issue or adopt a document.
_ISSUING_VERB = re.compile(r"印发|发布|公布|颁布|通过|批准|出台|制定|下发")

# Repairs of web artifacts.
_GARBAGE = re.compile(r"[?？]{2,}")
_SPACED_PLUS = re.compile(r"(?<=\S)[ \u3000]*[+＋][ \u3000]*(?=\S)")
_PLUS_BESIDE_SPACE = re.compile(r"[ \u3000][+＋]|[+＋][ \u3000]")  # a cheap test before _SPACED_PLUS
_ANGLE_MARKER = re.compile(r"<([^<>《》]{0,40})>")

# Documents and their titles.
_TITLE_REF = re.compile(r"《([^《》]+)》")
_TRAILING_QUALIFIER = re.compile(r"\s*[（(][^（()）]*[)）]\s*$")
_CLAUSE_BREAK = "。，,；;：:！!？?"
_LEAD_CONNECTOR = re.compile(r"^(?:根据|依据|按照|据|经|在|由|对)")
_PUBLISH_VERB = re.compile(r"(?:联合)?(?:印发|转发|公布|发布|颁布|颁发|下发|发出|出台|制定)(?:了|的)?$")
_ABOUT = "关于"
_COUNT_OF_BODIES = re.compile(r"^(?P<n>[一二两三四五六七八九十\d]+)(?:个)?(?:部门|部委|单位)(?:等)?")
_ETC_BODIES = re.compile(r"等(?:[一二两三四五六七八九十\d]+个?)?(?:部门|部委|单位)?$")
_NAME_SPLIT = re.compile(r"[、，,\s]+")
_CONJUNCTION = re.compile(r"[和与及]")  # split on these only when the whole name is unknown (国家发展和改革委员会)
_SWAPPED_ABOUT = re.compile(r"(印发|转发)关于")  # 印發關於X的通知: the page swapped 關於印發
# Names of bodies end in one of these; an unknown name without one is not taken for an issuer.
_ORG_SUFFIX = re.compile(r"(?:部|委|局|署|办|厅|院|会|室|组|中心|总局|政府|银行|法院|检察院|党委|委员会|办公室|领导小组)$")
_EMPTY_SLOT = re.compile(r"(印发|转发)(?=的)")
_GAP_TO_NUMBER = 6  # characters allowed between a document title and its number: ")(、 文件" …

UNKNOWN_LEVEL = "未登記"


@lru_cache(maxsize=4)
def _load_policy_types(path: Path = config.RESOURCES_DIR / "policy_types.txt") -> tuple[tuple[str, str], ...]:
    """(simplified, as written) genre names, longest first."""
    names = [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return tuple(sorted(((to_simplified(n), n) for n in names), key=lambda p: len(p[0]), reverse=True))


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(slots=True)
class _Line:
    number: int
    raw: str
    text: str  # stripped and repaired
    simple: str  # to_simplified(text)
    repairs: list[str] = field(default_factory=list)
    row: int = -1  # index of the line's own row in the parse report


class _Report:
    """The parse report's rows as columns (one list per field): a million lines of a large
    compilation would cost ~300 bytes each as dicts. ``repairs`` holds each line's own repairs,
    reported in rows of their own right after the line's row."""

    def __init__(self) -> None:
        self.line: list[int] = []
        self.kind: list[str] = []
        self.policy_id: list[str] = []
        self.detail: list[str] = []
        self.raw: list[str] = []
        self.repairs: list[Sequence[str]] = []

    def add(self, line: _Line, kind: str, detail: str = "") -> None:
        """The line's own row (its policy is filled in later)."""
        line.row = len(self.line)
        self.add_row(line.number, kind, "", detail, line.raw)
        self.repairs.append(line.repairs or ())  # most lines have none: share one empty tuple

    def add_row(self, number: int, kind: str, policy_id: str, detail: str, raw: str) -> None:
        self.line.append(number)
        self.kind.append(kind)
        self.policy_id.append(policy_id)
        self.detail.append(detail)
        self.raw.append(raw)


@dataclass
class ParseResult:
    """The three tables of one parse."""

    policies: pd.DataFrame
    policy_issuers: pd.DataFrame
    report: pd.DataFrame


@dataclass
class _Policy:
    year: int
    heading: _Line | None
    summary: list[_Line]
    index: int = 0
    notes: list[tuple[str, str]] = field(default_factory=list)  # (report kind, detail)


# ---------------------------------------------------------------------------------------------
# Line-level helpers


_LEADING_LIST_MARKER = re.compile(rf"^{_LIST_MARKER}\s*")
_TRAILING_NUMBER_NOTE = re.compile(r"\s*[（(][^（()）]*[〔\[［【(（]?(?:19|20)\d{2}[^（()）]*[号號][^（()）]*[)）]\s*$")


def _clean_heading(text: str) -> tuple[str, list[str]]:
    """A heading as the policy's name: no list marker, no wrapping 《》, no trailing (number)."""
    repairs = []
    marker = _LEADING_LIST_MARKER.match(text)
    if marker and len(text) > marker.end() + 1:
        text = text[marker.end():]
        repairs.append(f"removed list marker {marker.group().strip()}")
    if text.startswith("《") and text.endswith("》") and text.count("《") == 1:
        text = text[1:-1]
        repairs.append("removed the 《》 around the heading")
    number_note = _TRAILING_NUMBER_NOTE.search(text)
    if number_note and number_note.start() > 0:
        repairs.append(f"moved {number_note.group().strip()} from the heading to doc_number")
        text = text[: number_note.start()]
    return text, repairs


def _clean_line(raw: str) -> tuple[str, list[str]]:
    """Strip a line and repair web artifacts; return the text and a description of each repair."""
    text = raw.strip(" \t\u3000\ufeff\u200b")
    repairs = []
    if _GARBAGE.search(text):
        repairs.append(f"removed garbage {', '.join(sorted(set(_GARBAGE.findall(text))))!s}")
        text = _GARBAGE.sub("", text)
    if (
        ("+" in text or "＋" in text)
        and _PLUS_BESIDE_SPACE.search(text)
        and any(m.group().strip() != m.group() for m in _SPACED_PLUS.finditer(text))
    ):
        text = _SPACED_PLUS.sub(lambda m: m.group().strip(), text)
        repairs.append("joined spaced '+' (e.g. 互聯網 + 政務服務 → 互聯網+政務服務)")
    return text, repairs


def _year_of_heading(simple: str) -> int | None:
    if len(simple) > 32:  # a year heading is short; most lines are long paragraphs
        return None
    m = _YEAR_HEADING.match(simple.translate(_FULLWIDTH_DIGITS))
    if not m:
        return None
    year = m.group("year")
    return int(year) if year.isdigit() else chinese_numeral_to_int(year)


def _is_heading_shape(simple: str) -> bool:
    if len(simple) > _MAX_HEADING_CHARS:
        return False
    bare = _QUOTED.sub("", simple)
    return _SENTENCE_PUNCT.isdisjoint(bare) and not bare.endswith(("：", ":"))


_SCRIPT_SAMPLE_CHARS = 200_000  # enough text to tell the script; more only costs time


def _script_is_simplified(lines: Sequence[str]) -> bool:
    """True when the file reads as Simplified (t2s changes almost none of its CJK characters)."""
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if size >= _SCRIPT_SAMPLE_CHARS:
            break
    text = "".join(sample)
    cjk = len(_CJK.findall(text))
    if not cjk:
        return False
    changed = sum(1 for a, b in zip(text, to_simplified(text)) if a != b)
    return changed / cjk < 0.005


# ---------------------------------------------------------------------------------------------
# Document titles


def _genre(title_simple: str) -> str:
    """The genre (文種) a title ends with, as written in the resource file; '' when none."""
    core = title_simple
    while True:
        stripped = _TRAILING_QUALIFIER.sub("", core)
        if stripped == core:
            break
        core = stripped
    core = core.rstrip("”\"」》 ")
    for simple, written in _load_policy_types():
        if core.endswith(simple):
            return written
    return ""


def _is_document_title(inner_simple: str) -> bool:
    """A 《…》 naming a document, not a short back-reference such as 《意見》."""
    genre = _genre(inner_simple)
    return bool(genre) and len(_TRAILING_QUALIFIER.sub("", inner_simple)) > len(to_simplified(genre)) + 1


def _nest(title: str) -> str:
    """A title placed inside 《》 writes its own inner titles with 〈〉."""
    return title.replace("《", "〈").replace("》", "〉")


def _restore_inner_title(inner: str, heading: str | None) -> tuple[str, str | None]:
    """Repair a 《…》 whose inner title the web page lost or garbled, using the policy's heading.

    Returns the repaired text and a description of the repair (None when nothing changed).
    """
    fixed = inner
    swapped = _SWAPPED_ABOUT.search(to_simplified(fixed))
    if swapped:  # 印發關於X的通知 → 關於印發X的通知
        verb = fixed[swapped.start(): swapped.start() + 2]
        fixed = fixed[: swapped.start()] + fixed[swapped.start() + 2: swapped.end()] + verb + fixed[swapped.end():]
    fixed = _restore_lost_title(fixed, heading)
    return fixed, (f"restored 《{inner}》 → 《{fixed}》" if fixed != inner else None)


def _restore_lost_title(inner: str, heading: str | None) -> str:
    """Fill the place of a lost inner title: a stray ``<2014>`` marker, an empty 印發的 slot, or a
    title whose inner 《…》 was dropped."""
    if not heading:
        return _ANGLE_MARKER.sub(lambda m: m.group(1), inner)
    h_simple = to_simplified(heading)
    inner_simple = to_simplified(inner)
    marker = _ANGLE_MARKER.search(inner)
    if marker:
        lost = to_simplified(marker.group(1))
        replacement = _nest(heading) if h_simple.startswith(lost) else marker.group(1)
        return inner[: marker.start()] + replacement + inner[marker.end():]
    slot = _EMPTY_SLOT.search(inner_simple)
    if slot and h_simple not in inner_simple:
        return inner[: slot.end()] + _nest(heading) + inner[slot.end():]
    heading_without_refs = _TITLE_REF.sub("", h_simple)
    if heading_without_refs != h_simple and inner_simple == heading_without_refs:
        return _nest(heading)
    return inner


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a in b or b in a:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class _DocumentMention:
    start: int  # of 《 in the summary
    end: int  # after 》 (and after a trailing 的通知 …)
    inner: str  # restored title inside 《》, as written (inner titles in 〈〉)
    formal_title: str  # the issuing document's formal title
    pre: str  # clause text before 《 (as written)
    pre_start: int
    quoted: bool = True  # False: a formal title written without 《》 before its number


def _document_mentions(summary: str, simple: str, heading: str | None, notes: list[tuple[str, str]]) -> list[_DocumentMention]:
    """Every 《…》 in ``summary`` (``simple`` is its Simplified copy) that names a document, with
    inner titles restored."""
    mentions = []
    for m in _TITLE_REF.finditer(summary):
        inner, repair = _restore_inner_title(m.group(1), heading)
        inner_simple = to_simplified(inner)
        # A 《X》 followed by 的通知 is the inner document of a notice: 印發《X》的通知.
        after = simple[m.end():]
        post = ""
        for genre_simple, _ in _load_policy_types() if after.startswith("的") else ():
            if after.startswith("的" + genre_simple):
                post = summary[m.end(): m.end() + 1 + len(genre_simple)]
                break
        if not (_is_document_title(inner_simple) or post):
            continue
        if repair:
            notes.append(("repair", repair))
        clause_start = max((simple.rfind(ch, 0, m.start()) for ch in _CLAUSE_BREAK), default=-1) + 1
        pre = summary[clause_start: m.start()]
        connector = _LEAD_CONNECTOR.match(to_simplified(pre))
        if connector:
            pre, clause_start = pre[connector.end():], clause_start + connector.end()
        pre_simple = to_simplified(pre)
        if _ABOUT in pre_simple:
            head = pre
            count = _COUNT_OF_BODIES.match(pre_simple)
            if count:
                head = head[count.end():]
            formal = head + inner.replace("〈", "《").replace("〉", "》") + post
        else:
            formal = inner.replace("〈", "《").replace("〉", "》") + post
        mentions.append(_DocumentMention(m.start(), m.end() + len(post), inner, formal, pre, clause_start))
    return mentions


def _unquoted_document(summary: str, numbers: list[DocNumber]) -> _DocumentMention | None:
    """A formal title written without 《》 right before its number at the start of the summary:
    國務院辦公廳關於印發X的通知（國辦函〔2022〕102號）指出…"""
    simple = to_simplified(summary)
    first_break = min((simple.find(ch) for ch in "。；;" if ch in simple), default=len(simple))
    for n in numbers:
        if n.start >= first_break:
            break
        clause_start = max((simple.rfind(ch, 0, n.start) for ch in "。，,；;：:"), default=-1) + 1
        connector = _LEAD_CONNECTOR.match(simple[clause_start:])
        if connector:
            clause_start += connector.end()
        title = summary[clause_start: n.start].rstrip(" （(［[【〔")
        title_simple = to_simplified(title)
        if _ABOUT in title_simple and _is_document_title(title_simple) and "《" not in title:
            return _DocumentMention(clause_start, clause_start + len(title), title, title, "", clause_start, quoted=False)
    return None


def _choose_document(mentions: list[_DocumentMention], heading: str | None, summary_simple: str) -> _DocumentMention | None:
    """The mention that is the policy's own document: the one most like the heading, else the first
    one of the opening clause."""
    if not mentions:
        return None
    if heading:
        h = to_simplified(_TITLE_REF.sub(lambda m: m.group(1), heading))
        scored = [(_similarity(h, to_simplified(_TITLE_REF.sub(lambda m: m.group(1), m_.formal_title))), -i, m_) for i, m_ in enumerate(mentions)]
        best_score, _, best = max(scored, key=lambda t: (t[0], t[1]))
        if best_score >= 0.6:
            return best
    first = mentions[0]
    first_break = min((summary_simple.find(ch) for ch in "。；;" if ch in summary_simple), default=len(summary_simple))
    return first if first.start < first_break else None


def _own_number(numbers: list[DocNumber], doc: _DocumentMention | None, summary_simple: str) -> DocNumber | None:
    """The policy's own document number: next to its document title, else in the opening sentence."""
    if doc is not None:
        for n in numbers:
            gap = summary_simple[doc.end: n.start]
            if n.start >= doc.end and len(gap) <= _GAP_TO_NUMBER and "《" not in gap:
                return n
            if doc.pre_start <= n.start and n.end <= doc.start:
                return n
        return None
    first_break = min((summary_simple.find(ch) for ch in "。；;" if ch in summary_simple), default=len(summary_simple))
    before = [n for n in numbers if n.start < first_break and "《" not in summary_simple[: n.start]]
    return before[0] if before else None


# ---------------------------------------------------------------------------------------------
# Issuers


def _names_in(chunk: str) -> tuple[list[str], int]:
    """Split an issuer clause into body names; also return a stated count (五部門 → 5), else 0."""
    simple = to_simplified(chunk)
    count = 0
    m = _COUNT_OF_BODIES.match(simple)
    if m:
        n = m.group("n")
        count = int(n) if n.isdigit() else chinese_numeral_to_int(n)
        chunk, simple = chunk[m.end():], simple[m.end():]
    etc = _ETC_BODIES.search(simple)
    if etc and etc.group() != "":
        chunk, simple = chunk[: etc.start()], simple[: etc.start()]
    names, pos = [], 0
    for part in _NAME_SPLIT.finditer(simple):
        names.append(chunk[pos: part.start()])
        pos = part.end()
    names.append(chunk[pos:])
    return [n for n in names if n], count


def _resolve_names(names: list[str], registry: IssuerRegistry) -> list[tuple[str, str | None]]:
    """(name as written, canonical or None) for each name; an unknown name joined by 和/與/及 is
    split there when every part is a known body."""
    out: list[tuple[str, str | None]] = []
    for name in names:
        canonical = registry.resolve(name)
        if canonical is None and _CONJUNCTION.search(to_simplified(name)):
            simple = to_simplified(name)
            parts, pos = [], 0
            for m in _CONJUNCTION.finditer(simple):
                parts.append(name[pos: m.start()])
                pos = m.end()
            parts.append(name[pos:])
            resolved = [(part, registry.resolve(part)) for part in parts]
            if all(c for _, c in resolved):
                out.extend(resolved)
                continue
        out.append((name, canonical))
    return out


@dataclass
class _IssuerFinding:
    names: list[str]  # canonical (registry script), lead first
    unknown: list[str]  # names kept as written, not in the registry
    stated_count: int


def _find_issuers(doc: _DocumentMention | None, number: DocNumber | None, registry: IssuerRegistry) -> _IssuerFinding:
    """Issuing bodies: the number's prefix body leads, then the bodies named before the publishing
    verb or before 關於 in the document title."""
    chunks: list[str] = []
    if doc is not None:
        pre = doc.pre
        if number is not None and doc.pre_start <= number.start:
            rel = number.start - doc.pre_start
            pre = pre[:rel] + pre[rel + len(number.raw):]
        pre_simple = to_simplified(pre)
        about = pre_simple.find(_ABOUT)
        if about >= 0:
            pre, pre_simple = pre[:about], pre_simple[:about]
        verb = _PUBLISH_VERB.search(pre_simple)
        if verb:
            pre = pre[: verb.start()]
        chunks.append(pre)
        inner_simple = to_simplified(doc.formal_title)
        about = inner_simple.find(_ABOUT)
        if 0 < about <= 40:
            chunk = doc.formal_title[:about]
            verb = _PUBLISH_VERB.search(to_simplified(chunk))
            chunks.append(chunk[: verb.start()] if verb else chunk)
    names: list[str] = []
    unknown: list[str] = []
    stated = 0
    if number is not None:
        body = registry.issuer_for_prefix(number.prefix)
        if body:
            names.append(body)
    for chunk in chunks:
        found, count = _names_in(chunk)
        stated = max(stated, count)
        for name, canonical in _resolve_names(found, registry):
            if canonical:
                if canonical not in names:
                    names.append(canonical)
            elif _ORG_SUFFIX.search(to_simplified(name)) and len(name) >= 3 and name not in unknown:
                unknown.append(name)
    return _IssuerFinding(names, unknown, stated)


def _issuers_before_verb(summary_simple: str, registry: IssuerRegistry) -> list[str]:
    """Known bodies named in the opening sentence before its first issuing verb (…由全國人民代表
    大會常務委員會…通過): the fallback when neither a title clause nor a number names an issuer."""
    first_break = min((summary_simple.find(ch) for ch in "。；;" if ch in summary_simple), default=len(summary_simple))
    verb = _ISSUING_VERB.search(summary_simple, 0, first_break)
    if verb is None:
        return []
    found: list[str] = []
    for canonical in registry.find_names(summary_simple[: verb.start()]):
        if canonical not in found:
            found.append(canonical)
    return found


# ---------------------------------------------------------------------------------------------
# The parser


def _classify(path: Path, lines: list[str]) -> tuple[list[_Policy], _Report]:
    """Assign every line a role; group headings and summaries into policies (in source order)."""
    report = _Report()
    row = report.add
    policies: list[_Policy] = []
    state = "start"
    year: int | None = None
    pending: _Line | None = None  # a heading waiting for its summary

    def flush_heading() -> None:
        nonlocal pending
        if pending is not None:
            policy = _Policy(year, pending, [])  # type: ignore[arg-type]
            policy.notes.append(("warning", "heading without a summary paragraph"))
            policies.append(policy)
            pending = None

    for number, raw in enumerate(lines, 1):
        text, repairs = _clean_line(raw)
        if not text:
            continue
        line = _Line(number, raw, text, to_simplified(text), repairs)
        year_here = _year_of_heading(line.simple)
        if state == "start" and year_here is None:
            row(line, "title")
            state = "preamble"
            continue
        if state == "body" and _TRAILER.match(line.simple):
            state = "trailer"
        if state == "trailer":
            row(line, "trailer")
            continue
        if year_here is not None:
            flush_heading()
            year, state = year_here, "body"
            row(line, "year_heading", str(year_here))
            continue
        if state == "preamble":
            row(line, "preamble")
            continue
        if not _TWO_CJK.search(line.simple):
            row(line, "skipped", "no Chinese text")
            continue
        if _BRACKETED_NOTE.match(line.simple):
            row(line, "skipped", "a note in brackets, not a policy")
            continue
        if _is_heading_shape(line.simple):
            flush_heading()
            heading_text, heading_repairs = _clean_heading(line.text)
            heading_simple = line.simple if heading_text is line.text else to_simplified(heading_text)  # unchanged: no second conversion
            pending = _Line(line.number, raw, heading_text, heading_simple, line.repairs + heading_repairs)
            row(pending, "policy_heading")
            continue
        if pending is not None:
            policies.append(_Policy(year, pending, [line]))  # type: ignore[arg-type]
            pending = None
        elif policies and policies[-1].year == year and policies[-1].summary and not _introduces_document(line.simple):
            policies[-1].summary.append(line)
        else:
            policies.append(_Policy(year, None, [line]))  # type: ignore[arg-type]
        row(line, "policy_summary")
    flush_heading()
    if year is None:
        raise InputError(path, "no year headings found (expected lines such as 2014年); not a compilation")
    if not policies:
        raise InputError(path, "year headings but no policies found")
    return policies, report


def _introduces_document(simple: str) -> bool:
    """A paragraph that opens by naming a document (a new policy), not one continuing the last."""
    opening = simple[:60]
    m = _TITLE_REF.search(opening)
    return bool(m and _is_document_title(m.group(1))) or bool(find_doc_numbers(simple[:100]))


def parse_lines(
    path: str | Path,
    lines: list[str],
    registry: IssuerRegistry | None = None,
    year_counters: Counter | None = None,
) -> ParseResult:
    """Parse the decoded lines of one compilation (a pure function of its arguments).

    ``year_counters`` carries the number of policies already given an id per year, so several files
    parsed together get unique ids; it is updated in place.
    """
    path = Path(path)
    registry = registry or load_registry()
    year_counters = Counter() if year_counters is None else year_counters
    simplified_output = _script_is_simplified(lines)

    def in_script(name: str) -> str:
        return to_simplified(name) if simplified_output else name

    policies, report = _classify(path, lines)
    policy_columns: dict[str, list] = {name: [] for name in tables.POLICIES.names}
    issuer_columns: dict[str, list] = {name: [] for name in tables.POLICY_ISSUERS.names}
    notes: list[tuple[int, str, str, str]] = []  # (line, policy_id, kind, detail)
    total = len(policies)
    for policy in progress(_drain(policies), desc=f"{path.name}: policies", total=total, unit="policy"):
        year_counters[policy.year] += 1
        policy_id = f"{policy.year}-{year_counters[policy.year]:02d}"
        row, issuers = _parse_policy(policy, policy_id, path, registry, in_script)
        for name, value in row.items():
            policy_columns[name].append(value)
        for i, (name, level) in enumerate(issuers):
            for column, value in zip(issuer_columns.values(), (policy_id, name, "lead" if i == 0 else "joint", level)):
                column.append(value)
        for line in ([policy.heading] if policy.heading else []) + policy.summary:
            report.policy_id[line.row] = policy_id
        anchor = (policy.summary[0] if policy.summary else policy.heading).number  # type: ignore[union-attr]
        notes.extend((anchor, policy_id, kind, note) for kind, note in policy.notes)
    policies_frame = _frame(policy_columns, tables.POLICIES)
    issuers_frame = _frame(issuer_columns, tables.POLICY_ISSUERS)
    return ParseResult(policies_frame, issuers_frame, _report_frame(path, report, notes, lines))


_ARROW_CHUNK_ROWS = 1 << 14


def _frame(columns: dict[str, list], schema: tables.Schema) -> pd.DataFrame:
    """A frame of ``schema``'s columns, emptying ``columns`` as it goes (each list is freed once
    converted); text columns become pandas' Arrow-backed ``str`` by :func:`_arrow_strings`."""
    kinds = {c.name: c.kind for c in schema.columns}
    data = {}
    for name in schema.names:
        values = columns.pop(name)
        data[name] = pd.Series(_arrow_strings(values), dtype="str") if kinds[name] == "str" else pd.Series(values)
        del values
    return pd.DataFrame(data)


def _arrow_strings(values: list[str]) -> pa.ChunkedArray:
    """``values`` as an Arrow string array whose buffers are one joined UTF-8 ``bytes`` and its
    offsets per chunk of rows. Arrow's own conversion of ``str`` objects makes CPython keep a UTF-8
    copy inside every one of them for as long as it lives (the raw lines live on in the caller),
    and grows its buffers by doubling: at 200,000 policies, ~200 MB more at the peak."""
    chunks = []
    for start in range(0, len(values), _ARROW_CHUNK_ROWS):
        encoded = [v.encode() for v in values[start: start + _ARROW_CHUNK_ROWS]]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(list(map(len, encoded)), out=offsets[1:])
        chunks.append(pa.LargeStringArray.from_buffers(len(encoded), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))))
    return pa.chunked_array(chunks, pa.large_string())


def _drain(items: list) -> Iterator:
    """Yield the items of ``items`` in order, removing each from the list as it goes: whatever an
    item alone holds (a policy's lines and their Simplified copies) is freed once it is done."""
    items.reverse()
    while items:
        yield items.pop()


def _parse_policy(
    policy: _Policy, policy_id: str, path: Path, registry: IssuerRegistry, in_script: Callable[[str], str]
) -> tuple[dict, list[tuple[str, str]]]:
    """One policy's row of policies.csv and its (issuer, level) pairs, lead first; warnings and
    repairs are added to ``policy.notes``."""
    heading = policy.heading.text if policy.heading else None
    summary = "\n".join(line.text for line in policy.summary)
    summary_simple = "\n".join(line.simple for line in policy.summary)
    notes = policy.notes
    mentions = _document_mentions(summary, summary_simple, heading, notes)
    numbers = find_doc_numbers(summary, summary_simple)
    doc = _choose_document(mentions, heading, summary_simple) or _unquoted_document(summary, numbers)
    number = _own_number(numbers, doc, summary_simple)
    if number is None and heading:
        heading_numbers = find_doc_numbers(policy.heading.raw)  # type: ignore[union-attr]
        number = heading_numbers[0] if heading_numbers else None
    if doc is not None and doc.quoted and doc.inner != summary[doc.start + 1: doc.start + 1 + len(doc.inner)]:
        # write the restored title into the cleaned summary, too
        close = summary.index("》", doc.start)
        summary = summary[: doc.start + 1] + doc.inner + summary[close:]
    title = heading if heading else (doc.inner.replace("〈", "《").replace("〉", "》") if doc else "")
    if not title:
        notes.append(("warning", "no heading line and no document title in the summary: title left empty"))
    finding = _find_issuers(doc, number, registry)
    if not finding.names and not finding.unknown:
        finding.names.extend(_issuers_before_verb(summary_simple, registry))
    if not finding.names and not finding.unknown:
        notes.append(("warning", "no issuing body found"))
    for name in finding.unknown:
        notes.append(("warning", f"issuer not in the registry, kept as written: {name}"))
    all_issuers = [in_script(n) for n in finding.names] + finding.unknown
    issuers = []
    for i, name in enumerate(all_issuers):
        level = registry.level(name) if i < len(finding.names) else ""
        issuers.append((name, in_script(level) if level else in_script(UNKNOWN_LEVEL)))
    row = {
        "policy_id": policy_id,
        "year": policy.year,
        "title": title,
        "document_title": doc.formal_title if doc else "",
        "doc_number": number.normalized if number else "",
        "doc_prefix": number.prefix if number else "",
        "doc_year": number.year if number else None,
        "doc_serial": number.serial if number else None,
        "issuers": ";".join(all_issuers),
        "issuer_count": max(len(all_issuers), finding.stated_count),
        "policy_type": in_script(_genre(to_simplified(title))),
        "text": summary,
        "source_file": path.name,
        "source_line": (policy.heading or policy.summary[0]).number,
    }
    return row, issuers


def _report_frame(path: Path, report: _Report, notes: list[tuple[int, str, str, str]], lines: list[str]) -> pd.DataFrame:
    """The parse report in line order: each line's own row, then that line's repairs, then the
    repairs and warnings of the policy anchored on it (``notes``: (line, policy_id, kind, detail)).
    The extra rows are appended to ``report``'s columns and all rows put in order by one sort."""
    own_rows = len(report.line)
    for i in [i for i, repairs in enumerate(report.repairs) if repairs]:
        for repair in report.repairs[i]:
            report.add_row(report.line[i], "repair", report.policy_id[i], repair, report.raw[i])
    for number, policy_id, kind, detail in notes:
        report.add_row(number, kind, policy_id, detail, lines[number - 1])
    position = np.arange(len(report.line))
    order = np.lexsort((position, position >= own_rows, np.asarray(report.line))).tolist()  # last key sorts first
    columns = {}
    for name in ("line", "kind", "policy_id", "detail", "raw"):
        values = getattr(report, name)
        columns[name] = [values[k] for k in order]
    return _frame({"source_file": [path.name] * len(order), **columns}, tables.PARSE_REPORT)


def parse_compilation(paths: Sequence[str | Path], encoding: str | None = None, registry: IssuerRegistry | None = None) -> ParseResult:
    """Read, decode and parse one or more compilation files into validated tables.

    Raises :class:`InputError` (naming the file, and the line where it can) on any bad input; no
    file is written here.
    """
    if not paths:
        raise InputError("<arguments>", "no input files given")
    registry = registry or load_registry()
    counters: Counter = Counter()
    results = []
    for path in paths:
        decoded = read_compilation(path, encoding)
        result = parse_lines(decoded.path, decoded.lines, registry, counters)
        result.report.loc[result.report["kind"] == "title", "detail"] = f"encoding={decoded.encoding}"
        results.append(result)
    policies = pd.concat([r.policies for r in results], ignore_index=True)
    return ParseResult(
        tables.validate(policies, tables.POLICIES, "policies"),
        tables.validate(pd.concat([r.policy_issuers for r in results], ignore_index=True), tables.POLICY_ISSUERS, "policy_issuers"),
        tables.validate(pd.concat([r.report for r in results], ignore_index=True), tables.PARSE_REPORT, "parse_report"),
    )


def write_parse_result(result: ParseResult, out_dir: str | Path, validate: bool = True) -> list[Path]:
    """Write the three tables into ``out_dir`` atomically (all or none); returns their paths.

    ``validate=False`` skips the schema checks, for a result fresh from :func:`parse_compilation`,
    which has just made them (~1 s at 200,000 policies).
    """
    out_dir = Path(out_dir)
    outputs = {
        out_dir / config.POLICIES_FILE: (result.policies, tables.POLICIES),
        out_dir / config.POLICY_ISSUERS_FILE: (result.policy_issuers, tables.POLICY_ISSUERS),
        out_dir / config.PARSE_REPORT_FILE: (result.report, tables.PARSE_REPORT),
    }
    tables.write_tables({p: df for p, (df, _) in outputs.items()}, {p: s for p, (_, s) in outputs.items()} if validate else None)
    return list(outputs)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis parse``."""
    parser.epilog = (
        "Example: python -m analysis parse data/raw/*.txt --out data/processed\n"
        "Encodings are detected from the whole file (UTF-8 with or without BOM, GB18030/GBK, Big5/cp950,\n"
        "UTF-16); --encoding overrides. Bad input prints 'path[:line]: problem' and exits 2, writing nothing."
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="compilation text files (either script)")
    parser.add_argument("--out", type=Path, default=config.PROCESSED_DIR, metavar="DIR", help=f"output folder (default: {config.PROCESSED_DIR.relative_to(config.PROJ_ROOT)})")
    parser.add_argument("--encoding", default=None, metavar="ENC", help="input encoding, e.g. gb18030, cp950, utf-16 (default: detect)")
    parser.add_argument("--issuers", type=Path, default=None, metavar="FILE", help="issuer registry CSV to use instead of the bundled one")


def run(args: argparse.Namespace) -> int:
    """Parse the files and write the tables; print a one-line summary."""
    registry = load_registry(args.issuers) if args.issuers else None
    result = parse_compilation(args.files, args.encoding, registry)
    write_parse_result(result, args.out, validate=False)  # parse_compilation validated the tables
    kinds = result.report["kind"].value_counts()
    print(
        f"{len(result.policies)} policies from {len(args.files)} file(s) → {args.out}"
        f" ({kinds.get('repair', 0)} repairs, {kinds.get('skipped', 0)} skipped lines; see {config.PARSE_REPORT_FILE})"
    )
    return 0
