"""Execution engines: run per-partition stage functions locally (chunked, optionally in worker
processes) or on Dask, and a fast partition tokenizer that gives exactly the tokens stage's table.

The stages are pure functions of the policy table that give the same result on a partition of the
policies as on the whole (:func:`analysis.tokens.tokenize_policies`, the keyword partials). This
module cuts the table into partitions of whole policies, maps a function over them with the chosen
engine, and yields the results in partition order, so concatenating (or summing) them gives exactly
what one call on the whole table gives, whatever the engine, worker count or partition size:

* ``local`` with ``workers=1``: partitions one after another in this process. Memory is bounded by
  one partition's result when the caller streams (:func:`map_partitions` is lazy).
* ``local`` with ``workers>1``: a ``fork`` process pool. Forked workers inherit everything the parent
  loaded (dictionaries, added words); ``spawn``/``forkserver`` workers would not. Arrow tables come
  back through files in shared memory that the parent maps, not through the pool's pipe.
* ``dask``: ``dask.distributed`` futures on the scheduler at ``scheduler`` (an address such as
  ``tcp://10.0.0.5:8786``), or on a ``LocalCluster`` started for the call. Functions and their
  arguments travel by pickle, so they must be module-level functions or partials of them, and
  anything a worker needs (a segmenter's words) must travel with them: a
  :class:`~analysis.tokens.Segmenter` pickles as its entries and is rebuilt in the worker.

Stage owners wire it in with two calls: :func:`add_engine_arguments` in ``add_arguments`` and
:func:`engine_from_args` in ``run``; then :func:`tokenize_with_engine` (or :func:`map_partitions`
with their own partial function) replaces the single call.

:func:`tokenize_partition_arrow` is the fast path of the tokens stage: one rjieba ``cut`` per
partition instead of a ``tokenize`` per policy, offsets from cumulative token lengths, keyword flags
computed once per distinct token, and columns built as Arrow arrays (no Python object per token,
cheap to send between processes) that the streamed Parquet writer takes as they are.
:func:`tokenize_partition` is the same as a DataFrame: exactly the table
:func:`analysis.tokens.tokenize_policies` returns (tests compare them on the bundled corpus and on
synthetic ones in both scripts).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .progress import progress
from .script import to_simplified

R = TypeVar("R")

ENGINES = ("local", "dask")
# Measured with two workers on 2 cores (tokens command, medians of 3): at 200,000 policies 1,000 and
# 2,000 both take 7.5 s (500: 7.8 s; 5,000: 8.7 s); at 20,000, 1,000 is 0.1 s faster, as the first
# results arrive sooner. Smaller partitions also bound each worker's memory tighter.
DEFAULT_PARTITION_SIZE = 1000
# Texts of one partition are joined with this separator and segmented in one call. A line break is
# never part of a jieba word and never touched by OpenCC, so segmenting the joined text gives each
# text's tokens plus the separators (texts that contain a line break are segmented one by one).
_SEPARATOR = "\n"


@dataclass(frozen=True)
class Engine:
    """How to run per-partition work: ``kind`` (local|dask), worker count, policies per partition,
    and for Dask an optional scheduler address (none: a LocalCluster is started for the call)."""

    kind: str = "local"
    workers: int = 1
    partition_size: int = DEFAULT_PARTITION_SIZE
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ENGINES:
            raise ValueError(f"unknown engine {self.kind!r}; expected one of {', '.join(ENGINES)}")
        if self.workers < 1 or self.partition_size < 1:
            raise ValueError("workers and partition_size must be at least 1")


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--workers``, ``--partition-size`` and ``--scheduler`` to a command."""
    group = parser.add_argument_group("execution engine")
    group.add_argument("--engine", choices=ENGINES, default="local", help="local: this machine (chunked, --workers processes); dask: dask.distributed")
    group.add_argument("--workers", type=_workers, default="auto", help="worker processes (local) or LocalCluster workers (dask without --scheduler); auto: one per available core (a corpus of one partition runs in this process)")
    group.add_argument("--partition-size", type=int, default=DEFAULT_PARTITION_SIZE, help="policies per partition (bounds memory per task)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786 (implies --engine dask)")


def available_cores() -> int:
    """The cores this process may use (its CPU affinity where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _workers(value: str) -> int:
    """``--workers``: a positive count, or ``auto`` for one per core this process may use."""
    if value == "auto":
        return available_cores()
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {value!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {value!r}")
    return count


def engine_from_args(args: argparse.Namespace) -> Engine:
    """The :class:`Engine` the options of :func:`add_engine_arguments` describe."""
    scheduler = getattr(args, "scheduler", None)
    kind = "dask" if scheduler else getattr(args, "engine", "local")
    return Engine(kind, getattr(args, "workers", 1), getattr(args, "partition_size", DEFAULT_PARTITION_SIZE), scheduler)


class Partitions(Sequence[pd.DataFrame]):
    """The policy table cut, in ``policy_id`` order, into consecutive partitions of ``size`` policies.

    Sorting first makes the concatenation of per-partition results come out in ``policy_id`` order,
    the order every stage returns. Only the row order is computed up front: a partition's rows are
    gathered when it is asked for, so a forked worker copies its own texts and the parent moves
    none. The table is held as Arrow record batches (no copy of Arrow-backed columns, such as those
    of :func:`analysis.tables.read_policy_columns`) and a partition takes its rows batch by batch:
    pyarrow's ``take`` on a column of many chunks first joins them, a copy of the whole column per
    partition. An empty table gives one empty partition.
    """

    def __init__(self, policies: pd.DataFrame, size: int) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(policies, preserve_index=False)
        ids = np.asarray(policies["policy_id"].tolist(), dtype=object)
        self.order = np.argsort(ids, kind="stable") if len(ids) else np.zeros(0, dtype=np.int64)
        self.size = size
        self.schema = table.schema
        self.batches = table.to_batches()
        self.batch_starts = np.cumsum([0, *(b.num_rows for b in self.batches)])

    def __len__(self) -> int:
        return max(1, -(-len(self.order) // self.size))

    def __getitem__(self, index: int) -> pd.DataFrame:  # type: ignore[override]
        import pyarrow as pa

        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        rows = self.order[index * self.size : (index + 1) * self.size]
        ascending = np.sort(rows)
        batch = np.searchsorted(self.batch_starts, ascending, side="right") - 1
        pieces = [self.batches[b].take(pa.array(ascending[batch == b] - self.batch_starts[b])) for b in np.unique(batch)]
        gathered = pa.Table.from_batches(pieces, self.schema)
        # back from ascending row numbers to the partition's policy_id order
        return gathered.take(pa.array(np.searchsorted(ascending, rows))).to_pandas()


def partition_policies(policies: pd.DataFrame, size: int) -> Partitions:
    """The :class:`Partitions` of ``policies``: consecutive slices of ``size`` policies in ``policy_id`` order."""
    return Partitions(policies, size)


def map_partitions(func: Callable[[pd.DataFrame], R], parts: Sequence[pd.DataFrame], engine: Engine = Engine(), desc: str = "partitions") -> Iterator[R]:
    """Yield ``func(part)`` for each partition, in partition order, computed by ``engine``.

    Lazy: a caller that writes each result as it arrives holds only a few partitions' results.
    """
    if engine.kind == "dask":
        yield from _map_dask(func, parts, engine, desc)
    elif engine.workers > 1 and len(parts) > 1:
        yield from _map_fork(func, parts, engine.workers, desc)
    else:
        for part in progress(parts, desc=desc, total=len(parts)):
            yield func(part)


# What forked workers run: (func, parts, spool folder), set just before the pool forks so that each
# worker finds the partitions in the memory it inherited and only an index travels through the pipe,
# not texts.
_FORKED: tuple[Callable[[pd.DataFrame], Any], Sequence[pd.DataFrame], str] | None = None
# Where forked workers leave the Arrow tables they return: shared memory when it has this much room.
_SHM = Path("/dev/shm")
_SHM_ROOM = 1 << 30


@dataclass(frozen=True)
class _Spooled:
    """An Arrow table a worker wrote to ``path`` (Arrow IPC file format) instead of returning it."""

    path: str


def _run_forked(index: int) -> Any:
    func, parts, spool = _FORKED
    return _spool(func(parts[index]), os.path.join(spool, f"{index}.arrow"))


def _spool(result: Any, path: str) -> Any:
    """An Arrow table ``result`` written to ``path`` (returned as :class:`_Spooled`); anything else,
    or a table the folder has no room for, returned as it is (to be pickled through the pipe).

    Pickling a partition's tokens into the pool's pipe and back cost more CPU than encoding them
    as Parquet (13 ms per 2,000 policies, plus the pipe's system time); an IPC file is written with
    one copy and the parent maps it without any.
    """
    import pyarrow as pa

    if not isinstance(result, pa.Table):
        return result
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, result.schema) as writer:
            writer.write_table(result)
    except OSError:  # a full or read-only folder: the pipe still works
        with contextlib.suppress(OSError):
            os.unlink(path)
        return result
    return _Spooled(path)


def _unspool(result: Any) -> Any:
    """What :func:`_spool` was given: a spooled table is mapped (not copied) and its file unlinked;
    the mapping lives as long as the table's buffers do."""
    if not isinstance(result, _Spooled):
        return result
    import pyarrow as pa

    with pa.memory_map(result.path) as source:
        table = pa.ipc.open_file(source).read_all()
    os.unlink(result.path)
    return table


def _spool_parent() -> str | None:
    """Shared memory (``/dev/shm``) when it has room, else the system's temporary folder (``None``)."""
    try:
        return str(_SHM) if shutil.disk_usage(_SHM).free >= _SHM_ROOM and os.access(_SHM, os.W_OK) else None
    except OSError:
        return None


def _map_fork(func: Callable[[pd.DataFrame], R], parts: Sequence[pd.DataFrame], workers: int, desc: str) -> Iterator[R]:
    import multiprocessing

    global _FORKED
    # fork, not spawn: the workers inherit the parent's loaded dictionaries, added words and the partitions.
    ctx = multiprocessing.get_context("fork")
    spool = tempfile.mkdtemp(prefix="analysis-", dir=_spool_parent())
    _FORKED = (func, parts, spool)
    try:
        with ctx.Pool(min(workers, len(parts))) as pool:
            for result in progress(pool.imap(_run_forked, range(len(parts))), desc=desc, total=len(parts)):
                yield _unspool(result)
    finally:
        _FORKED = None
        shutil.rmtree(spool, ignore_errors=True)


def _map_dask(func: Callable[[pd.DataFrame], R], parts: Sequence[pd.DataFrame], engine: Engine, desc: str) -> Iterator[R]:
    from distributed import Client, LocalCluster

    if engine.scheduler:
        client, cluster = Client(engine.scheduler), None
    else:
        cluster = LocalCluster(n_workers=engine.workers, threads_per_worker=1, processes=engine.workers > 1, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(func, parts, pure=False)
        for future in progress(futures, desc=desc, total=len(futures)):
            # release each result once handed over, so the cluster's memory does not grow
            yield future.result()
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def map_reduce(func: Callable[[pd.DataFrame], R], combine: Callable[[Iterable[R]], Any], policies: pd.DataFrame, engine: Engine = Engine(), desc: str = "partitions") -> Any:
    """``combine`` of ``func`` over the partitions of ``policies``: e.g. partial counts, then their sum."""
    return combine(map_partitions(func, partition_policies(policies, engine.partition_size), engine, desc))


# --- the fast tokenizer ---------------------------------------------------------------------------

_ENGINES: dict[str, Any] = {}


def rjieba_for(segmenter: Any) -> Any:
    """An rjieba engine holding ``segmenter``'s words, built once per process and dictionary."""
    key = segmenter.fingerprint
    engine = _ENGINES.get(key)
    if engine is None:
        import rjieba

        engine = rjieba.Jieba()
        for e in segmenter.entries:
            engine.add_word(e.word, e.freq, e.tag)
        _ENGINES[key] = engine
    return engine


def tokenize_partition(policies: pd.DataFrame, segmenter: Any) -> pd.DataFrame:
    """Exactly :func:`analysis.tokens.tokenize_policies` (TOKENS schema, ordered by policy_id then
    start), computed with one segmentation call for the whole partition.

    ``policies`` needs ``policy_id`` and ``text``; ``segmenter`` is an
    :class:`analysis.tokens.Segmenter`. Texts containing a line break are segmented on their own.
    """
    from .tables import TOKENS, validate

    return validate(tokenize_partition_arrow(policies, segmenter).to_pandas(), TOKENS, "<tokens>")


def tokenize_partition_arrow(policies: pd.DataFrame, segmenter: Any) -> Any:
    """:func:`tokenize_partition` as an Arrow table with the schema of :func:`tokens_arrow_schema`.

    What the streamed writer takes: the token strings are cut from the texts' UTF-8 bytes and never
    become Python objects, and an Arrow table travels between processes as buffers, not row objects.
    """
    import pyarrow as pa

    from .docnumber import doc_number_spans

    pairs = sorted(zip(policies["policy_id"].tolist(), policies["text"].tolist(), strict=True))
    ids = [p for p, _ in pairs]
    texts = [t if isinstance(t, str) else "" for _, t in pairs]
    if any(("\n" in t or "\r" in t) for t in texts):
        # rare: the joined text would be ambiguous
        return pa.Table.from_pandas(_tokenize_alone(ids, texts, segmenter), schema=tokens_arrow_schema(), preserve_index=False)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    text_starts = np.concatenate(([0], np.cumsum(lengths + len(_SEPARATOR))[:-1])).astype(np.int64)
    original = _SEPARATOR.join(texts)
    simplified = to_simplified(original)
    words = rjieba_for(segmenter).cut(simplified, segmenter.hmm) if simplified else []
    ends = _word_ends(words, simplified)
    starts = np.concatenate(([0], ends[:-1])).astype(np.int64)
    owner = np.searchsorted(text_starts, starts, side="right") - 1
    local_start = starts - text_starts[owner]
    # Separator tokens start exactly where their text ends.
    keep = local_start < lengths[owner]
    kept = np.flatnonzero(keep)
    starts, ends, owner, local_start = starts[kept], ends[kept], owner[kept], local_start[kept]
    # Without the separators the kept tokens tile the texts' concatenation exactly (one separator
    # precedes each text but the first), so both token columns are cut from it with no copying.
    bounds = np.append(starts - owner, lengths.sum()).astype(np.int64)
    simplified_tokens = _tiling_strings(simplified.replace(_SEPARATOR, ""), bounds)
    tokens = simplified_tokens if simplified == original else _tiling_strings("".join(texts), bounds)
    # The keyword rule depends on the token alone: decide it once per distinct token.
    encoded = simplified_tokens.dictionary_encode()
    rule = np.array([segmenter.is_keyword(w) for w in encoded.dictionary.to_pylist()], dtype=bool)
    keyword = rule[encoded.indices.to_numpy(zero_copy_only=False)] if len(rule) else np.zeros(0, bool)
    keyword &= ~_inside_doc_numbers(doc_number_spans(simplified), starts, ends)
    columns = [
        pa.array(ids, type=pa.string()).take(pa.array(owner, type=pa.int64())),
        tokens.cast(pa.string()),
        pa.array(local_start, type=pa.int64()),
        pa.array(local_start + (ends - starts), type=pa.int64()),
        pa.array(keyword, type=pa.bool_()),
    ]
    return pa.Table.from_arrays(columns, schema=tokens_arrow_schema())


@lru_cache(maxsize=1)
def tokens_arrow_schema() -> Any:
    """The Arrow schema (pandas metadata included) of a validated tokens DataFrame: what
    ``pa.Table.from_pandas`` gives it, so Arrow tables and DataFrames write the same Parquet bytes."""
    import pyarrow as pa

    from .tables import TOKENS, validate

    example = validate(pd.DataFrame({"policy_id": ["x"], "token": ["x"], "start": [0], "end": [1], "keyword": [False]}), TOKENS)
    return pa.Schema.from_pandas(example, preserve_index=False)


def _word_ends(words: list[str], text: str) -> np.ndarray:
    """End offsets of ``words``, which tile ``text``: their cumulative lengths.

    Joined with a character the text lacks and encoded as UTF-32 (one code unit per character),
    the words' ends are where that character sits: a few C passes instead of a ``len`` per word.
    """
    if not words or "\0" in text:
        return np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)))
    units = np.frombuffer("\0".join(words).encode("utf-32-le"), dtype=np.uint32)
    marks = np.append(np.flatnonzero(units == 0), len(units))
    return (marks - np.arange(len(marks))).astype(np.int64)


def _tiling_strings(text: str, bounds: np.ndarray) -> Any:
    """``text[bounds[i]:bounds[i + 1]]`` for every i, as an Arrow string array built straight from
    the UTF-8 bytes: no Python string per token. ``bounds`` are character offsets, first 0, last len(text)."""
    import pyarrow as pa

    data = text.encode("utf-8")
    code_points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    utf8_width = 1 + (code_points >= 0x80) + (code_points >= 0x800) + (code_points >= 0x10000)
    byte_at = np.concatenate(([0], np.cumsum(utf8_width, dtype=np.int64)))
    offsets = byte_at[bounds]
    if len(data) < 2**31:
        return pa.StringArray.from_buffers(len(bounds) - 1, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    return pa.LargeStringArray.from_buffers(len(bounds) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


def _tokenize_alone(ids: list[str], texts: list[str], segmenter: Any) -> pd.DataFrame:
    from .tokens import tokenize_policies

    return tokenize_policies(pd.DataFrame({"policy_id": ids, "text": texts}), segmenter)


def _inside_doc_numbers(numbers: Sequence[tuple[int, int]], starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each token ``[start, end)`` overlaps one of the document numbers' ``(start, end)`` spans.

    The numbers are found once in the joined partition text: no part of a number's grammar (CJK
    prefix, blanks other than line breaks, brackets, digits, numerals, 號, 令) matches a line break,
    and its only look past a match fails on a line break as on the end of a text, so each text gets
    exactly the numbers a call on that text alone finds, shifted by the text's offset.
    """
    if not numbers:
        return np.zeros(len(starts), dtype=bool)
    spans = sorted(numbers)
    span_starts = np.array([a for a, _ in spans], dtype=np.int64)
    span_ends = np.maximum.accumulate(np.array([b for _, b in spans], dtype=np.int64))
    # The last span starting before a token's end overlaps it iff the furthest end so far passes the token's start.
    last = np.searchsorted(span_starts, ends, side="left") - 1
    return (last >= 0) & (span_ends[np.maximum(last, 0)] > starts)


def tokenize_with_engine(policies: pd.DataFrame, segmenter: Any, engine: Engine = Engine()) -> pd.DataFrame:
    """The tokens table of ``policies`` computed partition by partition with ``engine``.

    Equal to ``tokenize_policies(policies, segmenter)`` for every engine, worker count and
    partition size.
    """
    import pyarrow as pa

    from .tables import TOKENS, validate

    return validate(pa.concat_tables(iter_tokens(policies, segmenter, engine)).to_pandas(), TOKENS, "<tokens>")


def iter_tokens(policies: pd.DataFrame, segmenter: Any, engine: Engine = Engine()) -> Iterator[Any]:
    """The tokens table in consecutive Arrow pieces (one per partition, in policy_id order), for
    writers that stream them to disk (:func:`write_parquet_stream`) instead of holding the whole table.

    :func:`iter_policy_chunks` reads such a file back in policy-aligned pieces."""
    if engine.kind == "local":
        rjieba_for(segmenter)  # built here once, so that forked workers inherit it instead of each loading it
    parts = partition_policies(policies[["policy_id", "text"]], engine.partition_size)
    yield from map_partitions(partial(tokenize_partition_arrow, segmenter=segmenter), parts, engine, desc="tokens")


def iter_policy_chunks(path: str | Path, columns: Sequence[str] | None = None, rows: int = 1_000_000, key: str = "policy_id", where: str | None = None) -> Iterator[pd.DataFrame]:
    """Read a Parquet table sorted by ``key`` in pieces of about ``rows`` rows that never split a
    policy: each piece holds every row of its policies (what per-policy counts such as ``docs`` need).

    ``columns`` limits what is read (``key`` is always included); ``where`` names a boolean column
    (read too) whose false rows are dropped before they become pandas objects. Memory is bounded by
    one piece plus one batch, however large the file; an empty file yields one empty frame.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    wanted = None if columns is None else list(dict.fromkeys([key, *columns, *([where] if where else [])]))
    carry: pa.Table | None = None
    emitted = False
    with pq.ParquetFile(path) as reader:
        for batch in reader.iter_batches(batch_size=rows, columns=wanted):
            table = pa.Table.from_batches([batch])
            if where is not None:
                table = table.filter(table.column(where))
            if carry is not None:
                table = pa.concat_tables([carry, table])
            if table.num_rows == 0:  # every row of the batch filtered out
                continue
            keys = table.column(key)
            last = keys[len(keys) - 1]
            # rows of the last policy may continue in the next batch: hold them back
            tail = pc.equal(keys, last)
            split = len(keys) - int(pc.sum(tail).as_py() or 0)
            if split == 0:
                carry = table
                continue
            carry = table.slice(split)
            emitted = True
            yield table.slice(0, split).to_pandas()
        if carry is not None and (carry.num_rows or not emitted):
            emitted = True
            yield carry.to_pandas()
        if not emitted:
            yield reader.schema_arrow.empty_table().select(wanted or reader.schema_arrow.names).to_pandas()


def _checked_arrow(table: Any, schema: Any, path: Path) -> Any:
    from .tables import SchemaError

    if table.column_names != schema.names:
        raise SchemaError(f"{path}: {schema.name} has columns {table.column_names}, expected {schema.names}")
    for col in schema.columns:
        if not col.nullable and table.column(col.name).null_count:
            raise SchemaError(f"{path}: {schema.name}.{col.name} has missing values")
    return table


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_parquet_stream(path: str | Path, frames: Iterable[Any], schema: Any | None = None, row_group_rows: int = 1024 * 1024) -> int:
    """Write tables arriving one after another as one Parquet file, atomically; return the row count.

    Frames are DataFrames or Arrow tables. Each is checked against ``schema`` (an
    :class:`analysis.tables.Schema`) when given: a DataFrame is validated, an Arrow table must have
    the schema's columns in order and no missing value where the schema forbids one. Rows
    are re-cut into row groups of exactly ``row_group_rows`` (pyarrow's default), so the file does
    not depend on how the input was partitioned: writing the same rows as one frame or as many gives
    the same bytes, and the same bytes as :func:`analysis.tables.write_tables`. The file appears under
    its name only when complete.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .tables import parquet_options, validate

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs are ordinary files
    rows = 0
    writer = None
    pending: list[pa.Table] = []
    pending_rows = 0
    try:
        for frame in frames:
            if isinstance(frame, pa.Table):
                table = frame if schema is None else _checked_arrow(frame, schema, path)
            else:
                table = pa.Table.from_pandas(frame if schema is None else validate(frame, schema, path), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, **parquet_options(table.schema.names))
            pending.append(table)
            pending_rows += table.num_rows
            rows += table.num_rows
            while pending_rows >= row_group_rows:
                merged = pa.concat_tables(pending)
                writer.write_table(merged.slice(0, row_group_rows), row_group_size=row_group_rows)
                rest = merged.slice(row_group_rows)
                pending, pending_rows = [rest], rest.num_rows
        if writer is None:
            raise ValueError(f"{path}: no table to write")
        if pending_rows:
            writer.write_table(pa.concat_tables(pending), row_group_size=row_group_rows)
        writer.close()
        writer = None
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rows
