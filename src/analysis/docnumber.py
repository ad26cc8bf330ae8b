"""The grammar of Chinese document numbers (發文字號), in either script.

Two shapes are recognised:

* **Bracketed numbers** ``PREFIX〔YEAR〕SERIAL號``: an issuing-organ code (國辦發, 發改辦高技,
  工信部聯規, 中網辦發文, 財庫, 京政發, …), the year in brackets, the serial, and ``號``/``号``. Any of
  the brackets 〔〕 ［］ [] 【】 （） () and the 〔〕 look-alikes (﹝﹞ 〘〙 ⦗⦘ ❲❳ 〖〗) is accepted, in
  any mix; digits may be half- or full-width; blanks may stand between the parts
  (``國發〔2015〕50 號``, ``國發 〔2015〕50號``); a ``年`` after the year is tolerated. The ``號`` may be
  missing (``國發〔2015〕50``) when the brackets are not round parentheses and nothing number-like
  follows the digits: ``方案(2018)12`` is far more often prose than a number.
* **Orders** (令): ``國務院令第716號``, ``國令第843號``, ``中華人民共和國主席令第五十三號``,
  ministerial ``財政部令第87號`` and ``交通運輸部令2016年第1號`` (year given, stored in ``year``).
  The serial may be written in Chinese numerals. A leading 中華人民共和國 belongs to the span
  (``raw``) but not to the prefix.

Matching runs on the Simplified copy of the text (``analysis.script.to_simplified`` keeps lengths), so
the same patterns serve both scripts, while ``raw`` and ``prefix`` are slices of the original text.

The prefix is the run of CJK characters right before the bracket (or before 第 for orders). Prose
can touch it without punctuation (``根據國發〔2015〕50號``, ``印發的通知國辦發〔…``), so the run is cut
after its last multi-character prose word and function words at its start are peeled off (see
``_PROSE_WORDS`` and ``_peel_prose``). A run longer than the
longest prefix keeps only its last characters. Known limitation: an organ name written flush against
its own code (``國務院辦公廳國辦發〔2014〕66號``) cannot be told apart from the code by shape alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .script import to_simplified

__all__ = ["DocNumber", "chinese_numeral_to_int", "doc_number_spans", "find_doc_numbers", "parse_doc_number"]


@dataclass(frozen=True)
class DocNumber:
    """One document number found in a text.

    ``raw`` is exactly ``text[start:end]``; ``prefix`` the issuing-organ code in the input's script;
    ``year`` the bracketed year (``None`` for orders without a year); ``serial`` the number.
    """

    raw: str
    prefix: str
    year: int | None
    serial: int
    start: int
    end: int

    @property
    def normalized(self) -> str:
        """The canonical spelling: ``國辦發〔2014〕66號``, ``國務院令第716號``, ``主席令第53號``.

        Brackets become 〔〕, digits half-width, blanks vanish, Chinese numerals become digits; the
        prefix keeps its script. The final mark is the ``號`` or ``号`` the source wrote. Where the
        source wrote none, it is ``號`` when the prefix has a Traditional-only character
        (``to_simplified(prefix) != prefix``), and ``号`` otherwise: a prefix that reads the same in
        both scripts (工信信函) gives no evidence, and Simplified is the more common script for them.
        """
        mark = _written_mark(self.raw)
        if mark is None:
            mark = "號" if to_simplified(self.prefix) != self.prefix else "号"
        if self.prefix.endswith("令"):
            year = f"{self.year}年" if self.year is not None else ""
            return f"{self.prefix}{year}第{self.serial}{mark}"
        return f"{self.prefix}〔{self.year}〕{self.serial}{mark}"


# --- character classes -------------------------------------------------------------------------

# CJK ideographs (basic, extension A, compatibility, extensions B–F). 〇 is deliberately absent: it is
# a digit here, and never part of an organ code.
_CJK = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]"
_DIGIT = r"[0-9０-９]"
# Blanks that may sit between the parts of a number; never a line break, so a number never spans lines.
_BLANK = r"[^\S\r\n]*"
_BLANK_CHARS = frozenset(c for c in map(chr, range(0x3001)) if re.fullmatch(_BLANK, c))  # no blank lies above U+3000
# Opening / closing brackets: 〔〕 and its look-alikes, square and lenticular brackets, parentheses.
_OPEN = r"[〔﹝〘⦗❲〖［\[【（(]"
_CLOSE = r"[〕﹞〙⦘❳〗］\]】）)]"
_PARENS = frozenset("（()）")
# Chinese numerals, common and financial forms (Simplified only: matching runs on the t2s copy).
_CN_NUMERAL = r"[〇○零一二两三四五六七八九十百千万壹贰叁肆伍陆柒捌玖拾佰仟]+"
_MARK = r"[号號]"  # 號 survives t2s only in odd cases; accept both to be safe

# The longest organ codes seen are about eight characters (发改办高技, 工信部联规, 中网办发文, 京政办发);
# orders carry longer names (国家互联网信息办公室令, 工业和信息化部令).
_MAX_PREFIX = 8
_MAX_ORDER_PREFIX = 15
# How far back a prefix's run is read before prose is peeled off it (a whole 关于印发…的通知 clause).
_MAX_RUN = 40

# --- the grammar ---------------------------------------------------------------------------------

# PREFIX〔YEAR〕SERIAL号 — the year must look like a year (19xx/20xx, digits or 二〇一四-style numerals);
# a serial in Chinese numerals needs its 号, a digit serial may drop it (checked in code: see
# _accept_bracketed). The regexes match from the anchor (the opening bracket, or 令第) onwards; the
# blanks before a bracket and the prefix, the run of up to _MAX_RUN CJK characters before them, are
# found by scanning back (see _blank_start and _prefix_start). Starting a regex at every CJK
# character instead costs ~40 steps per character; a regex that begins with a character class lets
# ``re`` skip straight to the next bracket (one leading ``\s*`` would make it try every position).
_BRACKETED = re.compile(
    rf"""
    (?P<open>{_OPEN}){_BLANK}
    (?P<year>(?:[1１][9９]|[2２][0０]){_DIGIT}{{2}}|[一二][〇○零九][〇○零一二三四五六七八九]{{2}})
    {_BLANK}年?{_BLANK}
    (?P<close>{_CLOSE}){_BLANK}
    (?:
        (?P<serial>{_DIGIT}{{1,6}})(?:{_BLANK}(?P<mark>{_MARK}))?
      | (?P<cn_serial>{_CN_NUMERAL}){_BLANK}(?P<cn_mark>{_MARK})
    )
    """,
    re.VERBOSE,
)

# [中华人民共和国]XX令[YEAR年]第N号 — an order. The run before 令 is the issuer (国务院, 国, 主席, 财政部).
_ORDER = re.compile(
    rf"""
    令
    {_BLANK}(?:(?P<year>(?:19|20|１９|２０){_DIGIT}{{2}}){_BLANK}年{_BLANK})?
    第{_BLANK}(?P<serial>{_DIGIT}+|{_CN_NUMERAL}){_BLANK}(?P<mark>{_MARK})
    """,
    re.VERBOSE,
)
_CJK_RUN = re.compile(_CJK + "*")


def _blank_start(simplified: str, end: int, floor: int) -> int:
    """Start of the run of blanks (no line breaks) ending at ``end``, not before ``floor``."""
    start = end
    while start > floor and simplified[start - 1] in _BLANK_CHARS:
        start -= 1
    return start


def _prefix_start(simplified: str, end: int, floor: int, exclude: str = "") -> int:
    """Start of the run of at most _MAX_RUN CJK characters ending at ``end`` (not before ``floor``,
    the end of the previous match, and without any character of ``exclude``)."""
    limit = max(floor, end - _MAX_RUN)
    backwards = simplified[limit:end][::-1]
    run = _CJK_RUN.match(backwards).end()
    for c in exclude:
        at = backwards.find(c, 0, run)
        if at >= 0:
            run = at
    return end - run


# After a serial with no 号: these continue a quantity or a date, so the digits were not a serial.
_NOT_A_SERIAL_END = re.compile(rf"{_BLANK}(?:{_DIGIT}|[年月日%％.．:：/-])")

# Words that end prose and may touch a prefix without punctuation; peeled off the prefix's start,
# longest first, repeatedly (Simplified: compared against the t2s copy). None of them begins a
# known organ code (e.g. 发 and 文 are absent because 发改高技 and 文市发 begin with them).
_PROSE_WORDS = tuple(
    sorted(
        {
            "根据", "依据", "按照", "依照", "遵照", "参照", "对照", "详见", "参见", "见",
            "执行", "贯彻", "落实", "印发", "转发", "发布", "公布", "颁布", "签署", "签发", "下发",
            "通知", "意见", "文件", "关于", "以及", "的", "和", "与", "及", "或", "暨", "即",
            "据", "以", "为", "是", "在", "由", "将", "对", "经", "号", "令",
        },
        key=lambda w: (-len(w), w),
    )
)
# The state's name before an order (中华人民共和国主席令) is part of the span, not of the prefix.
_STATE_NAME = "中华人民共和国"
# Every start of a multi-character prose word, overlapping ones included (no such word is the start
# of another, so one alternative per position is all there is), and the prose words one of which a
# string may start with, in _PROSE_WORDS order (the first that fits wins, as in the loop it replaces).
_MULTI_PROSE_AT = re.compile("(?=(" + "|".join(re.escape(w) for w in _PROSE_WORDS if len(w) > 1) + "))")
_LEADING_PROSE = re.compile("|".join(re.escape(w) for w in _PROSE_WORDS))
_DIGITS_ONLY = re.compile(r"[0-9０-９]+")
_WHITESPACE = re.compile(r"\s+")


def _peel_prose(simplified_run: str, keep: int) -> int:
    """Return how many leading characters of ``simplified_run`` are prose, leaving ≥ ``keep`` chars.

    Two passes: everything up to the last multi-character prose word anywhere in the run goes
    (国务院办公厅关于印发的通知|国办发 — such words never occur inside an organ code); then prose
    words at the start are peeled repeatedly (根据|的|国发). Single characters are peeled only at the
    start, because some occur inside codes (京经信委发, 工业和信息化部令).
    """
    # pass 1: the end of each word's last occurrence, when it leaves ``keep`` characters
    last: dict[str, int] = {}
    for m in _MULTI_PROSE_AT.finditer(simplified_run):
        last[m.group(1)] = m.start()
    cut = 0
    for word, at in last.items():
        if len(simplified_run) - (at + len(word)) >= keep:
            cut = max(cut, at + len(word))
    # pass 2: prose words at the start, repeatedly
    while True:
        rest = simplified_run[cut:]
        m = _LEADING_PROSE.match(rest)
        if m is None:
            return cut
        if len(rest) - len(m.group()) >= keep:
            cut += len(m.group())
            continue
        # the first word that matches leaves too little: a shorter one further down the list may fit
        for word in _PROSE_WORDS:
            if len(word) < len(m.group()) and rest.startswith(word) and len(rest) - len(word) >= keep:
                cut += len(word)
                break
        else:
            return cut


def _written_mark(raw: str) -> str | None:
    """The 號/号 a number ends with, or ``None`` when the source dropped it."""
    tail = raw.rstrip()
    return tail[-1] if tail and tail[-1] in "號号" else None


def _accept_bracketed(match: re.Match[str], simplified: str) -> bool:
    """Apply the conditions a regex cannot state neatly to a bracketed match."""
    if match.group("cn_serial") is not None or match.group("mark") is not None:
        return True
    # No 号: accept only with tortoise-shell/square brackets and when nothing quantity-like follows.
    if match.group("open") in _PARENS or match.group("close") in _PARENS:
        return False
    return _NOT_A_SERIAL_END.match(simplified, match.end()) is None


def _int(s: str) -> int:
    """Digits (either width) or Chinese numerals → int."""
    if _DIGITS_ONLY.fullmatch(s):  # the common case: no blanks to drop
        return int(s)
    s = _WHITESPACE.sub("", s)
    if _DIGITS_ONLY.fullmatch(s):
        return int(s)  # int() reads full-width digits too
    return chinese_numeral_to_int(s)


def find_doc_numbers(text: str, simplified: str | None = None) -> list[DocNumber]:
    """Every document number in ``text``, in order of appearance, with offsets into ``text``.

    ``text[d.start:d.end] == d.raw`` always holds. Numbers are found in either script. See the module
    docstring for the accepted shapes and how a prefix is separated from preceding prose. A caller
    that already holds ``to_simplified(text)`` passes it as ``simplified`` to skip a conversion.
    """
    if simplified is None:
        simplified = to_simplified(text)
    found = []
    for start, prefix_start, prefix_end, m in _scan(simplified):
        if m.re is _ORDER:
            year, serial = (int(m.group("year")) if m.group("year") else None), _int(m.group("serial"))
        else:
            year, serial = _int(m.group("year")), _int(m.group("serial") or m.group("cn_serial"))
        found.append(DocNumber(raw=text[start : m.end()], prefix=text[prefix_start:prefix_end], year=year, serial=serial, start=start, end=m.end()))
    found.sort(key=lambda d: d.start)
    return found


def doc_number_spans(simplified: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every number :func:`find_doc_numbers` finds in the text whose Simplified
    copy is ``simplified`` (not sorted): what callers that only mask numbers need, without building
    a :class:`DocNumber` per match."""
    return [(start, m.end()) for start, _, _, m in _scan(simplified)]


def _scan(simplified: str) -> Iterator[tuple[int, int, int, re.Match[str]]]:
    """``(start, prefix_start, prefix_end, match)`` of every document number in ``simplified``:
    orders first, then bracketed numbers, each in order of appearance. A serial in Chinese numerals
    that does not read as a number (第十十号) is not a number."""
    # Orders first: 国务院令第716号 has no bracket, and its span must not be re-read as anything else.
    taken: list[tuple[int, int]] = []
    floor = 0
    for m in _ORDER.finditer(simplified):
        prefix_end = m.start() + 1  # the prefix includes 令
        run_start = _prefix_start(simplified, m.start(), floor, exclude="令")
        if run_start == m.start():  # 令 alone is not an order's prefix
            continue
        floor = m.end()
        run = simplified[run_start:prefix_end]
        start = run_start + _peel_prose(run, keep=2)
        prefix_start = start
        # 中华人民共和国主席令: the state's name is written out but the order's prefix is 主席令.
        rest = simplified[start:prefix_end]
        if rest.startswith(_STATE_NAME) and len(rest) >= len(_STATE_NAME) + 2:
            prefix_start += len(_STATE_NAME)
        if prefix_end - prefix_start > _MAX_ORDER_PREFIX:
            start = prefix_start = prefix_end - _MAX_ORDER_PREFIX
        if not _reads_as_number(m.group("serial")):
            continue
        yield start, prefix_start, prefix_end, m
        taken.append((start, m.end()))

    floor = searched = 0
    for m in _BRACKETED.finditer(simplified):
        # the blanks before the bracket belong to the match, as far back as the previous match
        prefix_end = _blank_start(simplified, m.start(), searched)
        searched = m.end()
        run_start = _prefix_start(simplified, prefix_end, floor)
        if run_start == prefix_end:
            continue
        floor = m.end()  # as a scan from the left would, a rejected match still consumes its text
        if not _accept_bracketed(m, simplified):
            continue
        start = max(run_start + _peel_prose(simplified[run_start:prefix_end], keep=1), prefix_end - _MAX_PREFIX)
        if taken and any(a < m.end() and start < b for a, b in taken):
            continue
        # the year's grammar admits only digits and digit-by-digit numerals (二〇一四): always a number
        if m.group("cn_serial") is not None and not _reads_as_number(m.group("cn_serial")):
            continue
        yield start, start, prefix_end, m


def _reads_as_number(serial: str) -> bool:
    """Whether a serial (digits, or Chinese numerals such as 五十三) reads as a number: ill-formed
    numerals (十十, 五三十) do not."""
    if _DIGITS_ONLY.fullmatch(serial):
        return True
    try:
        _int(serial)
    except ValueError:
        return False
    return True


def parse_doc_number(s: str) -> DocNumber | None:
    """Parse ``s`` as exactly one document number (blanks around it allowed), else ``None``.

    Offsets are into ``s``. A string holding anything else besides the number (prose, a second
    number, a trailing 文件) gives ``None``.
    """
    numbers = find_doc_numbers(s)
    if len(numbers) != 1:
        return None
    d = numbers[0]
    if s[: d.start].strip() or s[d.end :].strip():
        return None
    return d


# --- Chinese numerals ----------------------------------------------------------------------------

_CN_DIGITS = {
    "〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5, "陆": 6, "陸": 6,
    "柒": 7, "捌": 8, "玖": 9,
}  # fmt: skip
_CN_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}


def chinese_numeral_to_int(s: str) -> int:
    """Convert a Chinese numeral to an int: 五十三→53, 一百零八→108, 十→10, 二〇一四→2014.

    Accepts both scripts, 兩/两, 〇/零, financial forms (壹貳…拾佰仟) and 萬/億. A string of digit
    characters only (二〇一四) is read digit by digit, as years are written. Raises ``ValueError``
    on an empty string, an unknown character, or an ill-formed numeral (五三十, 十十).
    """
    if not s:
        raise ValueError("empty Chinese numeral")
    unknown = [c for c in s if c not in _CN_DIGITS and c not in _CN_SMALL_UNITS and c not in _CN_BIG_UNITS]
    if unknown:
        raise ValueError(f"not a Chinese numeral: {s!r}")
    if all(c in _CN_DIGITS for c in s):
        if len(s) > 1 and any(c in "两兩" for c in s):
            raise ValueError(f"兩 is not used digit by digit: {s!r}")
        return int("".join(str(_CN_DIGITS[c]) for c in s))

    total = 0  # completed big-unit groups
    section = 0  # the current group below 万
    digit: int | None = None  # a digit waiting for its unit
    last_small = 10_000  # small units must fall within a section: 千 > 百 > 十
    last_big = 10**17
    for c in s:
        if c in _CN_DIGITS:
            if digit is not None and digit != 0 and _CN_DIGITS[c] != 0:
                raise ValueError(f"two digits without a unit: {s!r}")
            digit = _CN_DIGITS[c]
        elif c in _CN_SMALL_UNITS:
            unit = _CN_SMALL_UNITS[c]
            if unit >= last_small:
                raise ValueError(f"units out of order: {s!r}")
            if digit == 0:
                raise ValueError(f"zero before a unit: {s!r}")
            section += (1 if digit is None else digit) * unit
            digit, last_small = None, unit
        else:
            unit = _CN_BIG_UNITS[c]
            if unit >= last_big:
                raise ValueError(f"units out of order: {s!r}")
            section += digit or 0
            if section == 0:
                raise ValueError(f"big unit without a value: {s!r}")
            total += section * unit
            section, digit, last_small, last_big = 0, None, 10_000, unit
    return total + section + (digit or 0)
