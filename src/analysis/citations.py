"""Which policies build on which: 《…》 references and document numbers, resolved to corpus policies.

A policy's title and summary name other documents in two ways: a title in 《…》 and a document
number (〔YYYY〕N號). Each such mention is resolved to a policy of the corpus when it is one, by
tolerant matching (quotes, 的, (試行), spacing, script, the formal ``document_title`` as well as the
short ``title``, and the inner title of a "…關於印發X的通知" wrapper), and kept with an empty
``cited_policy_id`` when it names a document outside the corpus.

Compilations name the summarised document itself all the time (its own title, its own number,
an abbreviation such as 《意見》, or a wrapper whose inner title the compiler lost, such as
《財政部關於印發的通知》); those are not citations and are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from .script import to_simplified
from .tables import POLICY_ID_PATTERN, Column, Schema

POLICY_CITATIONS = Schema(
    "policy_citations",
    (
        Column("citing_policy_id", "str", pattern=POLICY_ID_PATTERN),
        Column("cited_policy_id", "str", pattern=POLICY_ID_PATTERN, description="the corpus policy named; empty when outside the corpus"),
        Column("cited_title", "str", description="the name or document number as written in the citing policy"),
    ),
)

# Outermost 《…》 spans, nesting allowed (《關於印發《X》的通知》 is one reference).
_OPEN, _CLOSE = "《", "》"
# Inner titles that compilations flatten into other brackets when 《》 nests: 《…<X>…》, 《…〈X〉…》.
_INNER_RX = re.compile(r"[<〈＜‹](.*?)[>〉＞›]")
# Characters that differ between renderings of one title and carry no meaning for matching.
_NOISE_RX = re.compile(r"[\s《》〈〉<>“”‘’\"'「」『』·・]")
# A trial edition marker is part of some renderings of a title and not of others.
_TRIAL_RX = re.compile(r"\(试行\)")
# "X關於印發/轉發Y的通知" names Y's issuing document; Y is what a short title calls it. Applied to
# the normalised (Simplified, 的-less) string.
_WRAPPER_RX = re.compile(r"^.*?(?:关于)?(?:印发|转发|印发了)(.*?)(?:通知|函|决定)$")
_STATE_NAME = "中华人民共和国"
# The same wrapper with its inner title lost (《民政部關於印發的通知》): it names no document.
_EMPTY_WRAPPER_RX = re.compile(r"(?:印发|转发)(?:通知|函|决定)$")


def normalize_title(name: str) -> str:
    """A matching key for a document name: Simplified, no quotes/brackets/spaces, no 的, no (試行).

    Full-width and half-width forms are unified (NFKC), so （試行） and (試行) are the same.
    """
    text = unicodedata.normalize("NFKC", name)
    text = to_simplified(text)
    text = _NOISE_RX.sub("", text)
    text = _TRIAL_RX.sub("", text)
    return text.replace("的", "")


def _number_key(number: str) -> str:
    """A document number compared across scripts and spacing (國辦發〔2017〕39號 == 国办发〔2017〕39号)."""
    return to_simplified(re.sub(r"\s+", "", number))


def _keys(name: str) -> set[str]:
    """Every key under which ``name`` may be matched: itself, and the inner title of a wrapper."""
    key = normalize_title(name)
    if not key:
        return set()
    keys = {key}
    # 《網絡安全法》 names 中華人民共和國網絡安全法: laws are cited without the state's name.
    if key.startswith(_STATE_NAME) and len(key) > len(_STATE_NAME):
        keys.add(key[len(_STATE_NAME) :])
    m = _WRAPPER_RX.match(key)
    if m and m.group(1):
        keys.add(m.group(1))
    return keys


@dataclass(frozen=True)
class _Mention:
    """One reference to a document found in a policy's title or text."""

    kind: str  # "title" or "doc_number"
    value: str  # the name inside 《》 (as written) or the normalised document number
    start: int  # offset in the field it was found in
    end: int
    field: str  # which field: "title" or "text"


def find_quoted_titles(text: str) -> list[tuple[str, int, int]]:
    """Every outermost 《…》 span of ``text`` as ``(inner text, start, end)``; nesting is kept inside.

    An unclosed 《 is ignored (it names nothing that can be read reliably).
    """
    spans: list[tuple[str, int, int]] = []
    depth = 0
    start = -1
    for i, ch in enumerate(text):
        if ch == _OPEN:
            if depth == 0:
                start = i
            depth += 1
        elif ch == _CLOSE and depth > 0:
            depth -= 1
            if depth == 0:
                inner = text[start + 1 : i]
                if inner.strip():
                    spans.append((inner, start, i + 1))
    return spans


def _doc_numbers(text: str) -> list[tuple[str, int, int]]:
    """Document numbers in ``text`` as ``(normalised number, start, end)`` (the lead's recogniser)."""
    from .docnumber import find_doc_numbers

    return [(m.normalized, m.start, m.end) for m in find_doc_numbers(text)]


def _mentions(title: str, text: str) -> Iterator[_Mention]:
    for field, value in (("title", title), ("text", text)):
        for inner, s, e in find_quoted_titles(value):
            yield _Mention("title", inner, s, e, field)
        for number, s, e in _doc_numbers(value):
            yield _Mention("doc_number", number, s, e, field)


def _own_names(row: pd.Series) -> list[str]:
    return [n for n in (row["title"], row["document_title"]) if isinstance(n, str) and n.strip()]


def _gap_forms(name: str) -> Iterator[tuple[str, str]]:
    """(prefix, suffix) keys of ``name`` with one bracketed or wrapped inner title cut out.

    Compilations drop a nested title and keep the rest (加快推進落實《X》工作方案 → 《加快推進落實工作方案》,
    國務院關於印發X的通知 → 《國務院關於印發的通知》): these are the shapes such a damaged mention can take.
    """
    raw = unicodedata.normalize("NFKC", name)
    for m in re.finditer(r"《[^《》]*》|“[^“”]*”|<[^<>]*>", raw):
        yield normalize_title(raw[: m.start()]), normalize_title(raw[m.end() :])
    key = normalize_title(name)
    m = _WRAPPER_RX.match(key)
    if m and m.group(1):
        yield key[: m.start(1)], key[m.end(1) :]


def _names_itself(mention: _Mention, row: pd.Series, own_keys: set[str]) -> bool:
    """True when ``mention`` is the summarised document naming itself (not a citation)."""
    if mention.kind == "doc_number":
        return bool(row["doc_number"]) and _number_key(mention.value) == _number_key(row["doc_number"])
    keys = _keys(mention.value)
    if keys & own_keys:
        return True
    key = normalize_title(mention.value)
    own_full = [normalize_title(n) for n in _own_names(row)]
    # An abbreviation by the document's last words: 《意見》, 《網絡安全法》.
    if any(k.endswith(key) and k != key for k in own_full):
        return True
    # A damaged rendering with its inner title cut out, or flattened into <…>.
    for name in _own_names(row):
        for prefix, suffix in _gap_forms(name):
            if prefix and suffix and key == prefix + suffix:
                return True
    for inner in _INNER_RX.findall(unicodedata.normalize("NFKC", mention.value)):
        inner_key = normalize_title(inner)
        if inner_key and any(inner_key in k for k in own_full):
            return True
    return False


def _names_nothing(mention: _Mention) -> bool:
    """A wrapper whose inner title was lost (《財政部關於印發的通知》) identifies no document."""
    return mention.kind == "title" and bool(_EMPTY_WRAPPER_RX.search(normalize_title(mention.value)))


def _followed_by_own_number(mention: _Mention, field_text: str, row: pd.Series, numbers: list[tuple[str, int, int]]) -> bool:
    """True when a 《》 name is directly followed by the policy's own number: it names itself."""
    if not row["doc_number"]:
        return False
    for number, s, _ in numbers:
        gap = field_text[mention.end : s]
        if s >= mention.end and len(gap) <= 2 and not gap.strip("(（ ") and _number_key(number) == _number_key(row["doc_number"]):
            return True
    return False


def _pick(candidates: Iterable[int], policies: pd.DataFrame, citing_year: int) -> int:
    """Among several matching policies prefer one not later than the citing policy, then the latest."""
    ranked = sorted(candidates, key=lambda i: (policies.at[i, "year"] > citing_year, -policies.at[i, "year"], policies.at[i, "policy_id"]))
    return ranked[0]


def policy_citations(policies: pd.DataFrame) -> pd.DataFrame:
    """One row per (citing policy, cited document): every other document a policy names.

    Looks in each policy's ``title`` and ``text`` for 《…》 names and document numbers. A name
    resolves to the corpus policy whose ``title`` or ``document_title`` matches it tolerantly (see
    :func:`normalize_title`; a "…關於印發X的通知" wrapper also matches a policy titled X); a number
    resolves to the policy with that ``doc_number``. Unresolved mentions keep an empty
    ``cited_policy_id`` and the name or number as written in ``cited_title``. The policy's own
    names and number, abbreviations of them and damaged renderings of them are not citations.
    Rows are deduplicated (one per resolved pair, one per distinct outside name) and sorted.
    Returns a frame with columns ``citing_policy_id, cited_policy_id, cited_title``.
    """
    policies = policies.reset_index(drop=True)
    by_key: dict[str, set[int]] = {}
    by_number: dict[str, set[int]] = {}
    for i, row in policies.iterrows():
        for name in _own_names(row):
            for key in _keys(name):
                by_key.setdefault(key, set()).add(i)
        if row["doc_number"]:
            by_number.setdefault(_number_key(row["doc_number"]), set()).add(i)

    rows: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, row in policies.iterrows():
        own_keys = set().union(*(_keys(n) for n in _own_names(row))) if _own_names(row) else set()
        fields = {"title": row["title"] or "", "text": row["text"] or ""}
        numbers = {f: _doc_numbers(v) for f, v in fields.items()}
        mentions = sorted(_mentions(fields["title"], fields["text"]), key=lambda m: (m.field != "title", m.start, m.kind))
        for mention in mentions:
            if _names_itself(mention, row, own_keys) or _names_nothing(mention):
                continue
            if mention.kind == "title" and _followed_by_own_number(mention, fields[mention.field], row, numbers[mention.field]):
                continue
            if mention.kind == "doc_number":
                found = by_number.get(_number_key(mention.value), set()) - {i}
            else:
                found = set().union(*(by_key.get(k, set()) for k in _keys(mention.value))) - {i}
            if found:
                cited = policies.at[_pick(found, policies, int(row["year"])), "policy_id"]
                dedup = (row["policy_id"], cited)
            else:
                cited = ""
                dedup = (row["policy_id"], "\0" + (normalize_title(mention.value) if mention.kind == "title" else _number_key(mention.value)))
            if dedup in seen:
                continue
            seen.add(dedup)
            rows.append((row["policy_id"], cited, mention.value))
    out = pd.DataFrame(rows, columns=POLICY_CITATIONS.names, dtype="str")
    # Citations in corpus order; within a policy, resolved ones (by cited id) before outside names.
    out["_outside"] = out["cited_policy_id"] == ""
    out = out.sort_values(["citing_policy_id", "_outside", "cited_policy_id", "cited_title"], kind="stable").drop(columns="_outside")
    return out.reset_index(drop=True)
