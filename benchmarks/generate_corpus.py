"""Generate a synthetic policy compilation of any size, for benchmarks and scale tests.

The output has the layout of the bundled compilation (a title line, a preamble, year headings, and
for each policy a heading line followed by a summary paragraph that names the document, its number
and its issuer), but every piece is recombined from material read at run time from a real
compilation (by default the bundled one in ``data/raw``): its sentences, its headings' topics and
document types, its issuing bodies, its document-number prefixes and its connecting verbs. Nothing
of the source text is written into this file, so pointing ``--source`` at another compilation gives
a corpus built from that one.

The same ``--seed`` gives byte-identical output. ``--simplified`` converts the output to Simplified
script (OpenCC t2s, as the pipeline does), ``--encoding`` writes any codec Python knows.

    python benchmarks/generate_corpus.py --policies 20000 --out /tmp/synthetic_20k.txt
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE_DIR = PROJ_ROOT / "data" / "raw"

# Structure of a compilation, not facts of one file: a year heading is a bare year with 年; a
# document number is ORGAN〔YEAR〕SERIAL號; official titles read ISSUER關於TOPIC的TYPE.
_YEAR_HEADING = re.compile(r"^\s*(\d{4})\s*年\s*$")
_DOC_NUMBER = re.compile(r"([\u4e00-\u9fff]{1,8})\s*〔\s*(\d{4})\s*〕\s*(\d+)\s*號")
_DOC_NUMBER_AND_VERB = re.compile(r"〔\s*\d{4}\s*〕\s*\d+\s*號[^)\uff09]{0,4}[)\uff09]\s*([^,:\uff0c\uff1a《》“”()\uff08\uff09]{1,6})[,:\uff0c\uff1a]")
_TITLE_PARTS = re.compile(r"^(?P<issuer>[^《》“”]*?)關於(?P<topic>[^《》]+)的(?P<type>[\u4e00-\u9fff]{2,4})$")
_QUOTED_TITLE = re.compile(r"《([^《》]{4,60})》")
# A summary is a paragraph that ends a sentence; a heading is short and does not.
_SENTENCE_END = ("。", ")", "\uff09", "”")
_MAX_HEADING_CHARS = 60
_SENTENCE = re.compile(r"[^。]+。?")


class MaterialError(ValueError):
    """The source compilation lacks some kind of material the generator recombines."""


@dataclass(frozen=True)
class Material:
    """Pieces read from a real compilation, each list in order of first appearance (deterministic)."""

    title: str
    preamble: tuple[str, ...]
    headings: tuple[str, ...]
    sentences: tuple[str, ...]
    topics: tuple[str, ...]
    doc_types: tuple[str, ...]
    issuers: tuple[str, ...]
    doc_prefixes: tuple[str, ...]
    verbs: tuple[str, ...]
    years: tuple[int, ...]
    summary_lengths: tuple[int, ...]
    # issuer → the document-number prefixes seen with it, so a number agrees with its issuer
    issuer_prefixes: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _decode(path: Path) -> str:
    """Decode a source file in one of the encodings Chinese compilations come in."""
    data = path.read_bytes()
    for codec in ("utf-8-sig", "utf-16", "gb18030", "cp950"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec != "utf-16" or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return text
    raise MaterialError(f"{path}: cannot decode as UTF-8, UTF-16, GB18030 or Big5")


def load_material(source: Path) -> Material:
    """Read a compilation and split it into recombinable pieces.

    Lines before the first year heading are the title and preamble; afterwards a short line not
    ending a sentence that is followed by a paragraph is a heading, and a paragraph is a summary
    whose sentences (split at 。) feed the pool. Raises :class:`MaterialError` when a pool is empty.
    """
    lines = [ln.strip() for ln in _decode(source).splitlines()]
    lines = [ln for ln in lines if ln]
    first_year = next((i for i, ln in enumerate(lines) if _YEAR_HEADING.match(ln)), None)
    if first_year is None or first_year == 0:
        raise MaterialError(f"{source}: no title line followed by year headings")
    title, preamble = lines[0], tuple(lines[1:first_year])
    body = lines[first_year:]

    def is_summary(line: str) -> bool:
        return len(line) > _MAX_HEADING_CHARS or line.endswith(_SENTENCE_END)

    years: list[int] = []
    headings: list[str] = []
    summaries: list[str] = []
    for i, line in enumerate(body):
        year = _YEAR_HEADING.match(line)
        if year:
            years.append(int(year.group(1)))
        elif is_summary(line):
            summaries.append(line)
        elif i + 1 < len(body) and is_summary(body[i + 1]) and not _YEAR_HEADING.match(body[i + 1]):
            headings.append(line)

    sentences: list[str] = []
    for summary in summaries:
        # The first sentence names the source document; later ones are the reusable substance.
        sentences.extend(p for p in _SENTENCE.findall(summary)[1:] if len(p) >= 8)
    names = headings + [m for s in summaries for m in _QUOTED_TITLE.findall(s)]
    topics, doc_types, issuers = [], [], []
    for name in names:
        parts = _TITLE_PARTS.match(name)
        if parts:
            topics.append(parts["topic"].removeprefix("印發").strip())
            doc_types.append(parts["type"])
            issuers.append(parts["issuer"].removesuffix("印發").strip())
    seen: dict[str, list[str]] = {}
    for summary in summaries:
        named = [m for m in (_TITLE_PARTS.match(q) for q in _QUOTED_TITLE.findall(summary)) if m]
        number = _DOC_NUMBER.search(summary)
        if named and number and named[0]["issuer"].strip():
            seen.setdefault(named[0]["issuer"].removesuffix("印發").strip(), []).append(number.group(1))
    material = Material(
        title=title,
        preamble=preamble,
        headings=_unique(headings),
        sentences=_unique(sentences),
        topics=_unique([t for t in topics if len(t) >= 2 and "《" not in t]),
        doc_types=_unique(doc_types),
        issuers=_unique(issuers),
        doc_prefixes=_unique([m[0] for m in _DOC_NUMBER.findall("\n".join(summaries))]),
        verbs=_unique(_DOC_NUMBER_AND_VERB.findall("\n".join(summaries))),
        years=tuple(sorted(set(years))),
        summary_lengths=tuple(len(s) for s in summaries),
        issuer_prefixes=tuple((issuer, _unique(prefixes)) for issuer, prefixes in seen.items()),
    )
    empty = [name for name, value in vars(material).items() if not value and name != "issuer_prefixes"]
    if empty:
        raise MaterialError(f"{source}: found no {', '.join(empty)} to recombine")
    return material


def _policy(rng: random.Random, material: Material, year: int) -> tuple[str, str]:
    """One (heading, summary) pair for ``year``."""
    topic = rng.choice(material.topics)
    doc_type = rng.choice(material.doc_types)
    issuer = rng.choice(material.issuers)
    if rng.random() < 0.2:
        # Reuse a real heading now and then: titles of plans and strategies do not follow 關於…的.
        heading = rng.choice(material.headings)
        name = heading
    else:
        name = f"{issuer}關於{topic}的{doc_type}"
        heading = name
    number = ""
    if rng.random() < 0.85:
        prefix = rng.choice(dict(material.issuer_prefixes).get(issuer) or material.doc_prefixes)
        number = f"({prefix}〔{year}〕{rng.randint(1, 300)}號)"
    verb = rng.choice(material.verbs)
    if rng.random() < 0.5 or not issuer:
        opening = f"《{name}》{number}{verb},"
    else:
        opening = f"{issuer}印發《{name}》{number}{verb},"
    # Draw sentences until the summary reaches a length drawn from the source's summaries, so the
    # corpus has the source's length distribution (and segmentation meets realistic amounts).
    target = rng.choice(material.summary_lengths)
    summary = opening + rng.choice(material.sentences)
    while len(summary) < target:
        summary += rng.choice(material.sentences)
    return heading, summary


def iter_policies(material: Material, policies: int, seed: int, years: Sequence[int]) -> Iterator[tuple[int, str, str]]:
    """Yield ``(year, heading, summary)`` for ``policies`` policies spread over ``years`` in order.

    Each year gets ``policies // len(years)`` policies and the first years one more until the
    remainder is used up; years left without a policy are skipped.
    """
    rng = random.Random(seed)
    per_year, extra = divmod(policies, len(years))
    for i, year in enumerate(years):
        for _ in range(per_year + (1 if i < extra else 0)):
            heading, summary = _policy(rng, material, year)
            yield year, heading, summary


def iter_compilation(material: Material, policies: int, seed: int, years: Sequence[int]) -> Iterator[str]:
    """Yield the compilation's lines (without line ends): title, preamble, then year headings, each
    followed by its policies' heading and summary lines, blank lines between paragraphs."""
    yield material.title
    yield ""
    for line in material.preamble:
        yield line
        yield ""
    current = None
    for year, heading, summary in iter_policies(material, policies, seed, years):
        if year != current:
            current = year
            yield f"{year}年"
            yield ""
        yield heading
        yield ""
        yield summary
        yield ""


def write_compilation(
    out: Path,
    policies: int,
    seed: int = 0,
    source: Path | None = None,
    years: Sequence[int] | None = None,
    simplified: bool = False,
    encoding: str = "utf-8",
) -> int:
    """Write a synthetic compilation to ``out`` and return the number of characters written.

    ``source`` defaults to the first ``*.txt`` in ``data/raw``; ``years`` to the source's years.
    Lines are written in batches so a corpus of millions of policies never sits in memory whole.
    """
    if source is None:
        candidates = sorted(DEFAULT_SOURCE_DIR.glob("*.txt"))
        if not candidates:
            raise MaterialError(f"{DEFAULT_SOURCE_DIR}: no *.txt compilation to read material from")
        source = candidates[0]
    material = load_material(source)
    years = list(years or material.years)
    convert = None
    if simplified:
        sys.path.insert(0, str(PROJ_ROOT / "src"))
        from analysis.script import to_simplified

        convert = to_simplified
    chars = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed when complete: a failure (a character the encoding
    # cannot represent) leaves no partial file.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600 files; the corpus is an ordinary file
    try:
        with open(fd, "w", encoding=encoding, newline="\n") as fh:
            batch: list[str] = []
            for line in iter_compilation(material, policies, seed, years):
                batch.append(line)
                if len(batch) >= 4096:
                    chars += _flush(fh, batch, convert)
            chars += _flush(fh, batch, convert)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return chars


def _flush(fh, batch: list[str], convert) -> int:
    text = "\n".join(batch) + "\n"
    batch.clear()
    if convert is not None:
        text = convert(text)
    fh.write(text)
    return len(text)


def _years(spec: str) -> list[int]:
    first, _, last = spec.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YEAR or FIRST-LAST, got {spec!r}") from None
    if hi < lo:
        raise argparse.ArgumentTypeError(f"year range {spec!r} runs backwards")
    return list(range(lo, hi + 1))


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0],
        epilog="The corpus is recombined from --source at run time; the same --seed gives the same bytes.",
    )
    parser.add_argument("--policies", "-n", type=int, required=True, help="number of policies to generate")
    parser.add_argument("--out", "-o", type=Path, required=True, help="file to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same bytes (default: 0)")
    parser.add_argument("--source", type=Path, default=None, help="compilation to take material from (default: first data/raw/*.txt)")
    parser.add_argument("--years", type=_years, default=None, help="year range FIRST-LAST (default: the source's years)")
    parser.add_argument("--simplified", action="store_true", help="write Simplified script (OpenCC t2s) instead of the source's script")
    parser.add_argument("--encoding", default="utf-8", help="output encoding, e.g. utf-8 (default), utf-8-sig, gb18030, cp950, utf-16")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 on unusable source or arguments)."""
    args = build_parser().parse_args(argv)
    if args.policies < 1:
        print("--policies must be at least 1", file=sys.stderr)
        return 2
    try:
        chars = write_compilation(args.out, args.policies, args.seed, args.source, args.years, args.simplified, args.encoding)
    except (MaterialError, OSError, LookupError, UnicodeEncodeError) as err:
        print(f"{args.out}: {err}", file=sys.stderr)
        return 2
    print(f"{args.out}: {args.policies} policies, {chars} characters", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
