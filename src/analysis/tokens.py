"""Segment every policy text into tokens.parquet (one row per token, offsets into the original text).

Pipeline per text: OpenCC ``t2s`` copy (same length) → rjieba segmentation of the copy → each
token sliced from the *original* text by its offsets, so ``text[start:end] == token`` always holds
and Traditional and Simplified copies of one corpus give the same segmentation. jieba's dictionary
is Simplified and shreds Traditional text (電/子政/務), which is why the copy is segmented.

The segmenter is rjieba (a binding of jieba-rs): it yields the same tokens and offsets as
``jieba.tokenize`` with the same words added and the same HMM setting, about 10–20× faster. Words
are added with ``add_word(word, freq, tag)`` (rjieba has no ``load_userdict``), each with an explicit
frequency so both libraries receive identical entries (:func:`jieba_reference_tokenizer` builds the
matching plain-jieba tokenizer for tests and benchmarks). HMM new-word discovery is off by default:
on unseen character runs it invents fragments (辦公廳關), and with it on rjieba and jieba disagree on
mixed digit runs such as ``2018-2020`` (jieba splits them at the hyphen, rjieba does not).

Everything here is a pure function of (policies, segmenter) and partition-friendly: a
:class:`Segmenter` pickles as its dictionary entries and rebuilds its engine lazily in a worker, and
:func:`tokenize_policies` on chunks of policies, concatenated in order, equals one call on all.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from . import config
from .docnumber import doc_number_spans
from .errors import InputError
from .script import to_simplified
from .engine import Engine, add_engine_arguments, engine_from_args, iter_tokens, rjieba_for, write_parquet_stream
from .tables import TOKENS, copy_file_atomically, read_policy_columns, validate

DEFAULT_USERDICT = config.RESOURCES_DIR / "userdict.txt"
DEFAULT_STOPWORDS = config.RESOURCES_DIR / "stopwords.txt"
CACHE_DIRNAME = ".cache"

# A user word without an explicit frequency gets this one. jieba's own default (suggest_freq) is 1
# for most unseen words, far too low to keep 電子政務外網 whole against 电子政务/外/网. The
# dictionary's total is ~6·10**7 and its most frequent word (的) ~3·10**5, so at 10**5 a user word is
# more probable than any pair of single characters, let alone a longer split of itself: a dictionary
# term is never cut unless it crosses another dictionary term (数据共享|交换平台). Much higher values
# would inflate the total and shift segmentation elsewhere.
DEFAULT_USER_FREQ = 100_000

# Bump when the token rows or the bytes of the file for the same texts and dictionaries would change
# (invalidates caches; 2: statistics for policy_id only).
_CACHE_FORMAT = 2

# Numbers in either notation: Arabic/full-width digits with separators, or Chinese numerals only.
_NUMBER = re.compile(r"[0-9０-９.．,，%％\-－/:：~～]+|[零〇一二三四五六七八九十百千万亿两]+")


@dataclass(frozen=True)
class DictEntry:
    """One user-dictionary word, already in Simplified script, with the frequency given to jieba."""

    word: str
    freq: int
    tag: str | None = None


def read_userdict(path: str | Path) -> list[DictEntry]:
    """Read a jieba-format user dictionary (``word [freq] [tag]`` a line, ``#`` comments).

    Words are converted with OpenCC t2s (the texts are segmented in Simplified); a missing frequency
    becomes :data:`DEFAULT_USER_FREQ`. Raises :class:`InputError` on a missing file or a bad line.
    """
    path = Path(path)
    entries = []
    for lineno, line in _data_lines(path):
        fields = line.split()
        if len(fields) > 3:
            raise InputError(path, f"expected 'word [freq] [tag]', got {len(fields)} fields (words cannot contain spaces)", lineno)
        word = to_simplified(fields[0])
        freq = DEFAULT_USER_FREQ
        tag = None
        if len(fields) >= 2:
            if not fields[1].isdigit():
                raise InputError(path, f"frequency {fields[1]!r} is not a non-negative integer", lineno)
            freq = int(fields[1])
        if len(fields) == 3:
            tag = fields[2]
        entries.append(DictEntry(word, freq, tag))
    return entries


def read_stopwords(path: str | Path) -> set[str]:
    """Read a stopword list (one word a line, ``#`` comments); returns the words in Simplified script."""
    path = Path(path)
    words = set()
    for lineno, line in _data_lines(path):
        if len(line.split()) != 1:
            raise InputError(path, "expected one word a line", lineno)
        words.add(to_simplified(line))
    return words


def _data_lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except UnicodeDecodeError as err:
        raise InputError(path, f"not UTF-8 text ({err.reason})") from None
    return [(n, s) for n, raw in enumerate(text.splitlines(), 1) if (s := raw.strip()) and not s.startswith("#")]


@dataclass(frozen=True)
class Segmenter:
    """Dictionary entries + stopwords + HMM setting; the rjieba engine holding the entries is built
    once per process by :func:`analysis.engine.rjieba_for` (rjieba objects cannot be pickled, so a
    Dask/multiprocessing worker receives the plain entries and builds it on first use, ~0.3 s).
    """

    entries: tuple[DictEntry, ...]
    stopwords: frozenset[str]
    hmm: bool = False
    sources: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def fingerprint(self) -> str:
        """Hash of everything that determines the tokens: entries, stopwords, HMM, library versions."""
        payload = {
            "entries": [(e.word, e.freq, e.tag) for e in self.entries],
            "stopwords": sorted(self.stopwords),
            "hmm": self.hmm,
            "rjieba": _version("rjieba"),
            "opencc": _version("opencc"),
            "format": _CACHE_FORMAT,
        }
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()

    def segment(self, simplified: str) -> list[tuple[str, int, int]]:
        """``(token, start, end)`` for a text already in Simplified script (rjieba default mode)."""
        if not simplified:
            return []
        return rjieba_for(self).tokenize(simplified, "default", self.hmm)

    def is_keyword(self, simplified_token: str) -> bool:
        """Whether a token (in Simplified script) counts in keyword statistics.

        False for one-character tokens, stopwords, tokens with no letter or digit (punctuation,
        whitespace, symbols) and numbers (Arabic or Chinese numerals). Each distinct token is judged
        once per process: a corpus repeats a few thousand words millions of times.
        """
        memo = self._keyword_memo
        flag = memo.get(simplified_token)
        if flag is None:
            flag = memo[simplified_token] = is_keyword_token(simplified_token, self.stopwords)
        return flag

    @cached_property
    def _keyword_memo(self) -> dict[str, bool]:
        return {}


def is_keyword_token(simplified_token: str, stopwords: frozenset[str] | set[str]) -> bool:
    """The keyword rule of :meth:`Segmenter.is_keyword`, given the (Simplified) stopword set."""
    token = simplified_token.strip()
    if len(token) < 2 or token != simplified_token:
        return False
    if simplified_token in stopwords:
        return False
    if not any(unicodedata.category(ch)[0] in "LN" for ch in token):
        return False
    return _NUMBER.fullmatch(token) is None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def load_segmenter(
    userdict: str | Path | None = None,
    stopwords: str | Path | None = None,
    *,
    include_defaults: bool = True,
    hmm: bool = False,
) -> Segmenter:
    """Build a :class:`Segmenter` from the package's dictionaries plus optional user files.

    ``userdict``/``stopwords`` are added on top of ``resources/userdict.txt`` and
    ``resources/stopwords.txt`` (``include_defaults=False`` uses only the given files). Entries are
    kept in file order (a later entry for the same word overrides an earlier one, as in jieba).
    """
    dict_paths = ([DEFAULT_USERDICT] if include_defaults else []) + ([Path(userdict)] if userdict else [])
    stop_paths = ([DEFAULT_STOPWORDS] if include_defaults else []) + ([Path(stopwords)] if stopwords else [])
    entries = [e for p in dict_paths for e in read_userdict(p)]
    stops = set().union(*(read_stopwords(p) for p in stop_paths)) if stop_paths else set()
    return Segmenter(tuple(entries), frozenset(stops), hmm, tuple(str(p) for p in dict_paths + stop_paths))


def jieba_reference_tokenizer(segmenter: Segmenter) -> Any:
    """A plain ``jieba.Tokenizer`` given the same words as ``segmenter`` (for tests and benchmarks).

    Use ``tok.tokenize(simplified, HMM=segmenter.hmm)``; it should yield exactly the tokens of
    :meth:`Segmenter.segment`.
    """
    import jieba

    jieba.setLogLevel(60)
    tok = jieba.Tokenizer()
    tok.initialize()
    for e in segmenter.entries:
        tok.add_word(e.word, e.freq, e.tag)
    return tok


def tokenize_text(text: str, segmenter: Segmenter) -> list[tuple[str, int, int, bool]]:
    """``(token, start, end, keyword)`` for one text in either script; tokens slice ``text`` itself.

    Tokens inside a document number (國辦發〔2014〕66號, found by :mod:`analysis.docnumber`) are
    never keywords: organ codes such as 國辦發 or 高技 are references, not ideas.
    """
    simplified = to_simplified(text)
    spans = doc_number_spans(simplified)
    return [
        (text[s:e], s, e, segmenter.is_keyword(w) and not any(a < e and s < b for a, b in spans))
        for w, s, e in segmenter.segment(simplified)
    ]


def tokenize_policies(policies: pd.DataFrame, segmenter: Segmenter) -> pd.DataFrame:
    """One row per token of each policy's ``text`` (TOKENS schema), ordered by policy_id then start.

    ``policies`` needs ``policy_id`` and ``text`` columns. Pure and chunk-friendly: the result on a
    partition of the policies, concatenated in policy_id order, equals the result on all of them.
    """
    rows: list[tuple[str, str, int, int, bool]] = []
    for pid, text in sorted(zip(policies["policy_id"], policies["text"], strict=True)):
        rows.extend((pid, tok, s, e, kw) for tok, s, e, kw in tokenize_text(text if isinstance(text, str) else "", segmenter))
    df = pd.DataFrame(rows, columns=TOKENS.names)
    return validate(df, TOKENS, "<tokens>")


def cache_key(policies: pd.DataFrame, segmenter: Segmenter) -> str:
    """Hash of the ids and texts, in the table's row order, and the segmenter's fingerprint: the
    token cache's key (the same texts in another order are simply segmented again).

    After the row count, each column is hashed as the lengths of its values, then their UTF-8 bytes,
    read from Arrow's buffers: the count and lengths fix where every value ends, so two different
    tables never hash the same bytes, however the values are stored, and no Python string is built.
    """
    import numpy as np
    import pyarrow as pa

    h = hashlib.sha256(segmenter.fingerprint.encode())
    h.update(len(policies).to_bytes(8, "little"))  # how many lengths follow, for each column
    for name in ("policy_id", "text"):
        values = policies[name]
        column = pa.array(values.fillna("") if values.isna().any() else values, type=pa.large_string())
        pieces = []
        for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
            if len(chunk):
                _, offsets, data = chunk.buffers()  # no validity bitmap: no missing value
                pieces.append((np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1], data))
        h.update(b"".join(np.diff(offsets).tobytes() for offsets, _ in pieces))
        for offsets, data in pieces:
            h.update(memoryview(data)[offsets[0] : offsets[-1]])
    return h.hexdigest()[:32]


def cached_tokens_path(policies: pd.DataFrame, segmenter: Segmenter, cache_dir: str | Path, engine: Engine | None = None) -> Path:
    """The cached token table of these texts and dictionaries, ``cache_dir/tokens-<key>.parquet``,
    segmenting (streamed, partition by partition with ``engine``) only when it is not there yet.

    The key (:func:`cache_key`) covers every text, every dictionary entry, the stopwords, the HMM
    setting and the rjieba/OpenCC versions, so a stale cache is never read. The file appears only
    when complete.
    """
    path = Path(cache_dir) / f"tokens-{cache_key(policies, segmenter)}.parquet"
    if not path.exists():
        write_parquet_stream(path, iter_tokens(policies, segmenter, engine or Engine()), TOKENS)
    return path


def cached_tokenize(policies: pd.DataFrame, segmenter: Segmenter, cache_dir: str | Path) -> pd.DataFrame:
    """:func:`tokenize_policies`, reusing the cache of :func:`cached_tokens_path` when texts and
    dictionaries are unchanged; an unreadable cache file is rebuilt."""
    path = cached_tokens_path(policies, segmenter, cache_dir)
    try:
        return validate(pd.read_parquet(path), TOKENS, path)
    except Exception:  # noqa: BLE001 - a corrupt cache is only a missed shortcut
        path.unlink(missing_ok=True)
        return validate(pd.read_parquet(cached_tokens_path(policies, segmenter, cache_dir)), TOKENS, path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis tokens``."""
    parser.add_argument("dir", nargs="?", type=Path, default=config.PROCESSED_DIR, help="folder with policies.csv; tokens.parquet is written here")
    parser.add_argument("--userdict", type=Path, default=None, help="extra user dictionary (jieba format 'word [freq] [tag]'), added to the package's resources/userdict.txt")
    parser.add_argument("--stopwords", type=Path, default=None, help="extra stopword list (one word a line), added to the package's resources/stopwords.txt")
    parser.add_argument("--hmm", action="store_true", help="let jieba's HMM join unknown character runs into new words (off: they stay single characters)")
    add_engine_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Segment ``DIR/policies.csv`` and write ``DIR/tokens.parquet`` atomically."""
    data_dir = Path(args.dir)
    segmenter = load_segmenter(args.userdict, args.stopwords, hmm=args.hmm)
    with ThreadPoolExecutor(1) as background:
        # jieba's dictionary loads (0.1-0.2 s, holding the GIL) while Arrow reads the table (releasing it)
        built = background.submit(rjieba_for, segmenter)
        policies = read_policy_columns(data_dir, ["policy_id", "text"])
        built.result()
    cached = cached_tokens_path(policies, segmenter, data_dir / CACHE_DIRNAME, engine_from_args(args))
    copy_file_atomically(cached, data_dir / config.TOKENS_FILE)
    return 0
