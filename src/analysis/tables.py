"""Table schemas, atomic writing, and the validated loaders notebooks use.

Every table the pipeline writes goes through :func:`write_tables`, which validates each frame against
its schema, writes all files to temporary names beside their targets and only then renames them: a
run that fails part-way leaves no partial output. CSV files are UTF-8 with a byte-order mark (so a
spreadsheet opens the Chinese text correctly), LF line endings, and no index column.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from . import config
from .errors import InputError

CSV_ENCODING = "utf-8-sig"
_UMASK = os.umask(0)
os.umask(_UMASK)


class SchemaError(ValueError):
    """A table does not match its schema (a bug upstream, or a hand-edited file)."""


@dataclass(frozen=True)
class Column:
    """One column of a table: its kind, and the rules every value obeys."""

    name: str
    kind: str  # "str", "int", "Int64" (nullable int), "float", "bool"
    nullable: bool = False
    unique: bool = False
    # Full-match regex for non-empty str values, checked by pandas' vectorised ``str.fullmatch``, which
    # runs RE2 on Arrow-backed strings and Python's ``re`` on objects: write patterns both read alike
    # (``[0-9]``, not ``\d``, which is Unicode in ``re`` and ASCII in RE2).
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Schema:
    """An ordered set of columns; extra columns are allowed only if ``strict`` is false."""

    name: str
    columns: tuple[Column, ...]
    strict: bool = True
    unique_together: tuple[str, ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


# Year and position within it, e.g. 2014-03: ASCII digits, as parse writes them.
POLICY_ID_PATTERN = r"[0-9]{4}-[0-9]{2,}"

_PANDAS_DTYPE = {"str": "str", "int": "int64", "Int64": "Int64", "float": "float64", "bool": "bool"}

POLICIES = Schema(
    "policies",
    (
        Column("policy_id", "str", unique=True, pattern=POLICY_ID_PATTERN, description="year and position within it, e.g. 2014-03"),
        Column("year", "int", description="the year heading the policy stands under"),
        Column("title", "str", description="the policy's own name (heading line, or the 《》 name of its summary)"),
        Column("document_title", "str", description="formal title of the issuing document, inner titles restored; empty if none given"),
        Column("doc_number", "str", description="normalised 發文字號, e.g. 國辦發〔2014〕66號; empty when none is given"),
        Column("doc_prefix", "str", description="the number's issuing-organ code, e.g. 國辦發, 國令, 主席令"),
        Column("doc_year", "Int64", nullable=True, description="the bracketed year of the number"),
        Column("doc_serial", "Int64", nullable=True, description="the serial number"),
        Column("issuers", "str", description="canonical issuing bodies, lead first, joined with ;"),
        Column("issuer_count", "int", description="bodies the source says issued it (五部門 counts 5); at least the number named in issuers"),
        Column("policy_type", "str", description="文種 (通知, 意見, 辦法, …); empty when it cannot be told"),
        Column("text", "str", description="the cleaned summary paragraph"),
        Column("source_file", "str", description="file name of the compilation"),
        Column("source_line", "int", description="1-based line of the policy's first line in the source"),
    ),
)

POLICY_ISSUERS = Schema(
    "policy_issuers",
    (
        Column("policy_id", "str", pattern=POLICY_ID_PATTERN),
        Column("issuer", "str", description="canonical name from the issuer registry"),
        Column("role", "str", allowed=("lead", "joint")),
        Column("level", "str", description="黨中央, 全國人大, 國務院, 國務院部門, 議事協調機構, …"),
    ),
    unique_together=("policy_id", "issuer"),
)

PARSE_REPORT = Schema(
    "parse_report",
    (
        Column("source_file", "str"),
        Column("line", "int", description="1-based line number in the source"),
        Column("kind", "str", allowed=("title", "preamble", "year_heading", "policy_heading", "policy_summary", "trailer", "skipped", "repair", "warning")),
        Column("policy_id", "str", description="the policy the line belongs to; empty otherwise"),
        Column("detail", "str", description="reason for a skip, or what a repair changed"),
        Column("raw", "str", description="the line as read (after decoding)"),
    ),
    strict=True,
)

TOKENS = Schema(
    "tokens",
    (
        Column("policy_id", "str"),
        Column("token", "str"),
        Column("start", "int"),
        Column("end", "int"),
        Column("keyword", "bool"),
    ),
)


def validate(df: pd.DataFrame, schema: Schema, source: str | Path = "<table>") -> pd.DataFrame:
    """Check ``df`` against ``schema`` and return it with the schema's column order and dtypes.

    Raises :class:`SchemaError` naming ``source``, the column and the first offending row.
    """
    missing = [n for n in schema.names if n not in df.columns]
    if missing:
        raise SchemaError(f"{source}: {schema.name} lacks column(s) {', '.join(missing)}")
    extra = [c for c in df.columns if c not in schema.names]
    if schema.strict and extra:
        raise SchemaError(f"{source}: {schema.name} has unexpected column(s) {', '.join(map(str, extra))}")
    out = df[schema.names + ([] if schema.strict else extra)].copy()
    for col in schema.columns:
        values = out[col.name]
        if not col.nullable and values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0])
            raise SchemaError(f"{source}: {schema.name}.{col.name} is empty in row {row + 1}")
        try:
            out[col.name] = values.astype(_PANDAS_DTYPE[col.kind])
        except (TypeError, ValueError) as err:
            raise SchemaError(f"{source}: {schema.name}.{col.name} is not {col.kind}: {err}") from None
        values = out[col.name]
        if col.unique and values.duplicated().any():
            dup = values[values.duplicated()].iloc[0]
            raise SchemaError(f"{source}: {schema.name}.{col.name} repeats {dup!r}")
        if col.pattern is not None:
            checked = values.notna() & (values != "")
            bad = values[checked & ~values.str.fullmatch(col.pattern).fillna(True).astype(bool)]
            if len(bad):
                raise SchemaError(f"{source}: {schema.name}.{col.name} value {bad.iloc[0]!r} does not match {col.pattern}")
        if col.allowed is not None:
            bad = sorted(set(values.dropna()) - set(col.allowed))
            if bad:
                raise SchemaError(f"{source}: {schema.name}.{col.name} has unknown value(s) {bad}")
    if schema.unique_together and out.duplicated(list(schema.unique_together)).any():
        raise SchemaError(f"{source}: {schema.name} repeats a ({', '.join(schema.unique_together)}) pair")
    return out.reset_index(drop=True)


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Serialise ``df`` exactly as every CSV of the project is written (BOM, LF, no index)."""
    return df.to_csv(index=False, lineterminator="\n").encode(CSV_ENCODING)


def parquet_options(columns: Sequence[str]) -> dict[str, Any]:
    """How every Parquet file of the project is written (``pyarrow.parquet`` writer options).

    zstd, and min/max statistics for the first column only: the key the table is sorted by
    (``policy_id``), which lets a reader skip row groups. Statistics of the other columns select
    nothing (every row group of tokens spans the whole vocabulary) and cost a sixth of the encoding.
    """
    return {"compression": "zstd", "write_statistics": list(columns[:1])}


def copy_file_atomically(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a temporary file renamed into place (as the other writers)."""

    def copy(fh: BinaryIO) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, fh, 1 << 24)

    _write_atomically([(target, copy)])


def _write_table(df: pd.DataFrame, path: Path, fh: BinaryIO) -> None:
    """Write ``df`` to the open file ``fh`` in the format ``path`` names, a chunk at a time.

    A CSV gets exactly the bytes of :func:`to_csv_bytes`; pandas encodes each chunk of rows as it
    goes, so a large table never exists as one string or one ``bytes`` in memory.
    """
    if path.suffix == ".csv":
        df.to_csv(fh, index=False, lineterminator="\n", encoding=CSV_ENCODING)
    elif path.suffix == ".parquet":
        df.to_parquet(fh, index=False, engine="pyarrow", **parquet_options(list(df.columns)))
    else:
        raise ValueError(f"{path}: unsupported table format {path.suffix!r}")


def write_tables(outputs: Mapping[Path, pd.DataFrame], schemas: Mapping[Path, Schema] | None = None) -> None:
    """Validate and write several tables atomically: all of them, or (on any error) none.

    ``schemas`` maps some of the paths to a :class:`Schema`; those frames are validated first. Each
    table is validated and written to its temporary file in turn, so only one validated copy is
    alive at a time; the renames wait until every table is written.
    """
    schemas = schemas or {}

    def writer(path: Path, df: pd.DataFrame) -> Callable[[BinaryIO], None]:
        def write(fh: BinaryIO) -> None:
            table = validate(df, schemas[path], path) if path in schemas else df
            _write_table(table, path, fh)

        return write

    _write_atomically((Path(path), writer(Path(path), df)) for path, df in outputs.items())


def write_bytes_atomically(payloads: Iterable[tuple[Path, bytes]]) -> None:
    """Write each ``(path, data)`` to a temporary file, then rename them all into place."""
    _write_atomically((path, lambda fh, data=data: fh.write(data)) for path, data in payloads)


def _write_atomically(writers: Iterable[tuple[Path, Callable[[BinaryIO], object]]]) -> None:
    """Run each ``(path, write)`` on a temporary file beside ``path``, then rename them all into
    place. Any error (in a writer, or while renaming) removes every temporary file left."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, write in writers:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs are ordinary files
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)


def read_csv(path: str | Path, schema: Schema | None = None) -> pd.DataFrame:
    """Read a project CSV (empty strings stay empty strings) and validate it when given a schema."""
    path = Path(path)
    dtype = None
    if schema is not None:
        dtype = {c.name: ("str" if c.kind == "str" else None) for c in schema.columns}
        dtype = {k: v for k, v in dtype.items() if v}
    df = pd.read_csv(path, encoding=CSV_ENCODING, dtype=dtype, keep_default_na=False, na_values={c.name: [""] for c in (schema.columns if schema else ()) if c.kind != "str"} or None)
    return validate(df, schema, path) if schema is not None else df


def load_policies(data_dir: str | Path = config.PROCESSED_DIR) -> pd.DataFrame:
    """The tidy policy table (one row per policy), validated."""
    return read_csv(Path(data_dir) / config.POLICIES_FILE, POLICIES)


def load_policy_issuers(data_dir: str | Path = config.PROCESSED_DIR) -> pd.DataFrame:
    """One row per (policy, issuing body), validated."""
    return read_csv(Path(data_dir) / config.POLICY_ISSUERS_FILE, POLICY_ISSUERS)


def load_parse_report(data_dir: str | Path = config.PROCESSED_DIR) -> pd.DataFrame:
    """Every non-blank raw line and what the parser made of it, validated."""
    return read_csv(Path(data_dir) / config.PARSE_REPORT_FILE, PARSE_REPORT)


def load_tokens(data_dir: str | Path = config.PROCESSED_DIR) -> pd.DataFrame:
    """One row per token (policy_id, token, start, end, keyword), validated."""
    return validate(pd.read_parquet(Path(data_dir) / config.TOKENS_FILE), TOKENS, Path(data_dir) / config.TOKENS_FILE)


# The command that writes each processed table, for the hint when one is missing.
_PRODUCER = {
    config.POLICIES_FILE: "parse",
    config.POLICY_ISSUERS_FILE: "parse",
    config.PARSE_REPORT_FILE: "parse",
    config.TOKENS_FILE: "tokens",
}
_LOADERS = {
    config.POLICIES_FILE: load_policies,
    config.POLICY_ISSUERS_FILE: load_policy_issuers,
    config.PARSE_REPORT_FILE: load_parse_report,
    config.TOKENS_FILE: load_tokens,
}


def read_input_table(data_dir: str | Path, name: str) -> pd.DataFrame:
    """Load the processed table ``name`` (e.g. ``config.POLICIES_FILE``) for a command.

    A missing, unreadable or invalid file raises :class:`InputError` naming it, so every command
    reports bad input the same way: one line, exit status 2.
    """
    return _read_input(Path(data_dir) / name, lambda: _LOADERS[name](data_dir))


def read_policy_columns(data_dir: str | Path, columns: Sequence[str] = ("policy_id", "text")) -> pd.DataFrame:
    """Some columns of ``policies.csv`` (validated, in the table's order), for stages that need only those.

    Read by Arrow's multithreaded CSV reader, the named columns only: ~7× faster than
    :func:`load_policies` on a large table. The header must still be the whole table's. Errors as in
    :func:`read_input_table`.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(data_dir) / config.POLICIES_FILE
    wanted = Schema(POLICIES.name, tuple(c for c in POLICIES.columns if c.name in columns))
    arrow_type = {"str": pa.string(), "int": pa.int64(), "Int64": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    types = {c.name: arrow_type[c.kind] for c in wanted.columns}
    convert = pacsv.ConvertOptions(include_columns=wanted.names, column_types=types, strings_can_be_null=False)
    parse = pacsv.ParseOptions(newlines_in_values=True)

    def load() -> pd.DataFrame:
        with pacsv.open_csv(path, parse_options=parse) as reader:  # reads the header and one block
            validate(pd.DataFrame(columns=reader.schema.names), POLICIES, path)  # the whole table's columns
        table = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
        return validate(table.to_pandas(), wanted, path)

    return _read_input(path, load)


def _read_input(path: Path, load: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``load()``, with a missing, unreadable or invalid ``path`` raised as one-line :class:`InputError`."""
    if not path.is_file():
        raise InputError(path, f"no such file (run 'python -m analysis {_PRODUCER[path.name]}' first)")
    try:
        return load()
    except (ValueError, OSError) as err:  # SchemaError, pandas/pyarrow parse and decode errors
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(path, first_line.removeprefix(f"{path}: ")) from None


def read_keyword_token_codes(data_dir: str | Path) -> pd.DataFrame:
    """The keyword rows of ``tokens.parquet`` as ``policy_id``, ``token`` (categoricals), ``start``, ``keyword``.

    Read dictionary-encoded: a large corpus repeats a few thousand words and each policy id dozens of
    times, so codes take a fraction of the memory of millions of strings (``clusters`` works on codes).
    Checked: the file has the tokens table's columns and no empty value; errors as in
    :func:`read_input_table`.
    """
    import pyarrow.parquet as pq

    path = Path(data_dir) / config.TOKENS_FILE
    columns = ["policy_id", "token", "start", "keyword"]

    def load() -> pd.DataFrame:
        validate(pd.DataFrame(columns=pq.read_schema(path).names), TOKENS, path)  # the whole table's columns
        table = pq.read_table(path, columns=columns, filters=[("keyword", "==", True)], read_dictionary=["policy_id", "token"])
        df = table.to_pandas()
        for col in columns:
            if df[col].isna().any():
                raise SchemaError(f"{path}: {TOKENS.name}.{col} is empty in row {int(df[col].isna().to_numpy().argmax()) + 1} of the keyword rows")
        return df.astype({"start": "int64", "keyword": "bool"})

    return _read_input(path, load)
