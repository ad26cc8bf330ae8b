"""The issuer registry: canonical names of issuing bodies, their aliases, levels and number prefixes.

The registry is data (``resources/issuers.csv``), not code: researchers extend it with rows or pass
their own file. Every lookup normalises script with OpenCC ``t2s``, so Traditional and Simplified
names (and prefixes) resolve to the same body.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import config
from .errors import InputError
from .script import to_simplified

DEFAULT_REGISTRY = config.RESOURCES_DIR / "issuers.csv"

# A body's internal units resolve to the body: 工業和信息化部信息化推進司 → 工業和信息化部.
_UNIT_SUFFIXES = tuple(to_simplified(s) for s in ("司", "局", "處", "室", "中心", "處室"))
_FIELDS = ("canonical", "level", "english", "aliases", "prefixes")


@dataclass(frozen=True)
class Issuer:
    """One body of the registry."""

    canonical: str
    level: str
    english: str
    aliases: tuple[str, ...]
    prefixes: tuple[str, ...]


class IssuerRegistry:
    """Look-ups over the registry; every key is compared in Simplified script."""

    def __init__(self, issuers: list[Issuer], source: str = "<registry>") -> None:
        self.issuers = issuers
        self.source = source
        self._by_name: dict[str, Issuer] = {}
        self._by_prefix: dict[str, Issuer] = {}
        for issuer in issuers:
            for name in (issuer.canonical, *issuer.aliases):
                self._by_name.setdefault(to_simplified(name), issuer)
            for prefix in issuer.prefixes:
                self._by_prefix.setdefault(to_simplified(prefix), issuer)
        # longest first, so the most specific name or prefix wins
        self._names_longest_first = sorted(self._by_name, key=len, reverse=True)
        self._prefixes_longest_first = sorted(self._by_prefix, key=len, reverse=True)
        self._name_pattern = re.compile("|".join(re.escape(n) for n in self._names_longest_first if len(n) >= 2) or "(?!)")

    def lookup(self, name: str) -> Issuer | None:
        """The body named ``name`` (canonical name or alias, either script, or one of its units)."""
        key = to_simplified(name.strip())
        if not key:
            return None
        if key in self._by_name:
            return self._by_name[key]
        for known in self._names_longest_first:
            rest = key[len(known):]
            if key.startswith(known) and len(known) >= 2 and rest.endswith(_UNIT_SUFFIXES):
                return self._by_name[known]
        return None

    def find_names(self, text: str) -> list[str]:
        """Canonical names of the bodies named anywhere in ``text`` (either script), in order;
        the longest name wins where names overlap (全國人民代表大會常務委員會, not 全國人民代表大會)."""
        return [self._by_name[m.group()].canonical for m in self._name_pattern.finditer(to_simplified(text))]

    def resolve(self, name: str) -> str | None:
        """Canonical name (registry script) of the body called ``name``, or None if unknown."""
        issuer = self.lookup(name)
        return issuer.canonical if issuer else None

    def for_prefix(self, prefix: str) -> Issuer | None:
        """The body a document-number prefix marks (longest registered prefix it starts with)."""
        key = to_simplified(prefix.strip())
        for known in self._prefixes_longest_first:
            if key.startswith(known):
                return self._by_prefix[known]
        return None

    def issuer_for_prefix(self, prefix: str) -> str | None:
        """Canonical name of the body a document-number prefix (國辦發, 發改高技 …) marks, or None."""
        issuer = self.for_prefix(prefix)
        return issuer.canonical if issuer else None

    def level(self, name: str) -> str:
        """Level (黨中央, 國務院, 國務院部門, …) of a body given in either script; '' if unknown."""
        issuer = self.lookup(name)
        return issuer.level if issuer else ""

    def english(self, name: str) -> str:
        """English name of a body given in either script; '' if unknown."""
        issuer = self.lookup(name)
        return issuer.english if issuer else ""


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").split("|") if part.strip())


def parse_registry(text: str, source: str = "<registry>") -> IssuerRegistry:
    """Build a registry from the CSV text of a registry file (``#`` lines are comments)."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InputError(source, "issuer registry has no rows")
    header_no, header = lines[0]
    if tuple(h.strip() for h in next(csv.reader([header]))) != _FIELDS:
        raise InputError(source, f"issuer registry header must be {','.join(_FIELDS)}", header_no)
    issuers = []
    for line_no, line in lines[1:]:
        row = next(csv.reader(io.StringIO(line)))
        if len(row) != len(_FIELDS) or not row[0].strip():
            raise InputError(source, f"expected {len(_FIELDS)} fields with a canonical name", line_no)
        canonical, level, english, aliases, prefixes = (c.strip() for c in row)
        issuers.append(Issuer(canonical, level, english, _split(aliases), _split(prefixes)))
    return IssuerRegistry(issuers, source)


@lru_cache(maxsize=8)
def load_registry(path: str | Path | None = None) -> IssuerRegistry:
    """Load the registry from ``path`` (default: the one shipped in ``resources/issuers.csv``)."""
    path = Path(path) if path is not None else DEFAULT_REGISTRY
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read issuer registry: {err}") from None
    return parse_registry(text, str(path))
