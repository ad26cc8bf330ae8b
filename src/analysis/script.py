"""Script normalisation: Traditional → Simplified with OpenCC ``t2s``.

``t2s`` maps characters one to one, so a converted string has the same length as its source and an
offset found in the converted copy slices the original exactly. Every matcher in the package
(segmentation, issuer names, document titles) works on the converted copy and reports offsets or
slices of the original, so both scripts give the same results. ``tw2sp`` would change lengths and
vocabulary: never use it here.
"""

from __future__ import annotations

from functools import lru_cache

import opencc

_CONFIG = "t2s"


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC(_CONFIG)


_SHORT = 48  # names, titles and terms repeat across a corpus: remember their conversions


def to_simplified(text: str) -> str:
    """Return ``text`` in Simplified script, with exactly the same length.

    Raises ``AssertionError`` if OpenCC ever changes the length (which would break every offset).
    """
    if not text:
        return text
    if len(text) <= _SHORT:
        return _to_simplified_short(text)
    return _convert(text)


@lru_cache(maxsize=1 << 16)
def _to_simplified_short(text: str) -> str:
    return _convert(text)


def _convert(text: str) -> str:
    converted = _converter().convert(text)
    if len(converted) != len(text):  # pragma: no cover - a guard on OpenCC's tables
        raise AssertionError("OpenCC t2s changed the length of a string; offsets would be wrong")
    return converted
