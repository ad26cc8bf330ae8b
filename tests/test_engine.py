"""Execution engines and the fast partition tokenizer: every engine gives the default tables."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

import pandas as pd
import pyarrow as pa
import pytest

from analysis import config
from analysis import engine as engine_module
from analysis.engine import (
    Engine,
    add_engine_arguments,
    engine_from_args,
    iter_policy_chunks,
    iter_tokens,
    map_partitions,
    map_reduce,
    partition_policies,
    tokenize_partition,
    tokenize_with_engine,
    write_parquet_stream,
)
from analysis.script import to_simplified
from analysis.tables import TOKENS, SchemaError, write_tables
from analysis.tokens import tokenize_policies

SEED_FILE = config.RAW_DIR / "egov_policies_2013_2019.txt"


def _generator():
    if "generate_corpus" not in sys.modules:
        spec = importlib.util.spec_from_file_location("generate_corpus", config.PROJ_ROOT / "benchmarks" / "generate_corpus.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["generate_corpus"] = module
        spec.loader.exec_module(module)
    return sys.modules["generate_corpus"]


def _synthetic(n: int, seed: int = 0, simplified: bool = False) -> pd.DataFrame:
    gen = _generator()
    material = gen.load_material(SEED_FILE)
    rows, per_year = [], {}
    for year, _, summary in gen.iter_policies(material, n, seed, material.years):
        per_year[year] = per_year.get(year, 0) + 1
        rows.append((f"{year}-{per_year[year]:02d}", year, to_simplified(summary) if simplified else summary))
    return pd.DataFrame(rows, columns=["policy_id", "year", "text"])


# Edge cases the joined-text segmentation must not blur: empty texts, texts starting or ending with
# Latin letters, digits, blanks or punctuation (which could merge with a neighbour), a line break
# inside a text, document numbers (whose tokens are never keywords), both scripts.
EDGE = pd.DataFrame(
    {
        "policy_id": ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05", "2020-06", "2021-01", "2021-02", "2021-03", "2021-04", "2021-05"],
        "year": [2020] * 6 + [2021] * 5,
        "text": [
            "ABC 電子政務",
            "",
            "123 互聯網+政務服務 xyz",
            "  國務院辦公廳印發《通知》(國辦發〔2014〕66號)要求,加強網絡安全。 ",
            "数据共享交换平台建设2018",
            "2018-2020年行動方案",
            "第一行\n第二行 国务院令第716号",
            "。。",
            # a number without 號 at a text's end, then texts that would extend it if joined
            "依據國發〔2015〕50",
            "號文件 國務院令",
            "第716號 2019",
        ],
    }
)


def test_fast_tokenizer_equals_tokenize_policies_on_edge_cases(segmenter):
    expected = tokenize_policies(EDGE, segmenter)
    assert expected["keyword"].any() and not expected["keyword"].all()
    pd.testing.assert_frame_equal(tokenize_partition(EDGE, segmenter), expected)
    without_break = EDGE[~EDGE["text"].str.contains("\n")]
    pd.testing.assert_frame_equal(tokenize_partition(without_break, segmenter), tokenize_policies(without_break, segmenter))
    # a NUL in a text: word ends cannot be found by joining the words with NUL
    with_nul = without_break.assign(text=without_break["text"].str.replace("電子", "電\0子", regex=False))
    assert with_nul["text"].str.contains("\0").any()
    pd.testing.assert_frame_equal(tokenize_partition(with_nul, segmenter), tokenize_policies(with_nul, segmenter))


@pytest.mark.parametrize("simplified", [False, True])
def test_fast_tokenizer_equals_tokenize_policies_on_a_synthetic_corpus(segmenter, simplified):
    policies = _synthetic(120, seed=3, simplified=simplified)
    expected = tokenize_policies(policies, segmenter)
    for size in (120, 17, 1):
        pd.testing.assert_frame_equal(tokenize_with_engine(policies, segmenter, Engine(partition_size=size)), expected)


def test_fast_tokenizer_equals_tokenize_policies_on_the_seed(tmp_path, segmenter):
    pytest.importorskip("analysis.parse")
    from analysis.cli import main as cli_main
    from analysis.tables import load_policies

    assert cli_main(["parse", str(SEED_FILE), "--out", str(tmp_path)]) == 0
    policies = load_policies(tmp_path)
    pd.testing.assert_frame_equal(tokenize_with_engine(policies, segmenter, Engine(partition_size=10)), tokenize_policies(policies, segmenter))


def test_fork_workers_give_the_same_table(segmenter):
    policies = _synthetic(120, seed=5)
    expected = tokenize_policies(policies, segmenter)
    pd.testing.assert_frame_equal(tokenize_with_engine(policies, segmenter, Engine(workers=2, partition_size=25)), expected)


def _count_rows_per_year(part: pd.DataFrame) -> pd.Series:
    return part.groupby("year").size()


def _sum_counts(parts) -> pd.Series:
    return pd.concat(list(parts)).groupby(level=0).sum().sort_index()


def test_dask_local_cluster_gives_the_default_tables(segmenter):
    distributed = pytest.importorskip("distributed")
    policies = pd.concat([_synthetic(80, seed=9), EDGE], ignore_index=True)
    expected = tokenize_policies(policies, segmenter)
    default_counts = map_reduce(_count_rows_per_year, _sum_counts, policies, Engine(partition_size=30))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        engine = Engine("dask", partition_size=30, scheduler=cluster.scheduler_address)
        pd.testing.assert_frame_equal(tokenize_with_engine(policies, segmenter, engine), expected)
        counts = map_reduce(_count_rows_per_year, _sum_counts, policies, engine)
        keywords = pytest.importorskip("analysis.keywords")
        if hasattr(keywords, "keyword_by_year"):
            tokens = tokenize_with_engine(policies, segmenter, engine)
            pd.testing.assert_frame_equal(keywords.keyword_by_year(tokens, policies), keywords.keyword_by_year(expected, policies))
    pd.testing.assert_series_equal(counts, default_counts)
    assert counts.to_dict() == policies.groupby("year").size().to_dict()


def test_partitions_are_sorted_whole_policies():
    policies = EDGE.sample(frac=1, random_state=1)
    parts = partition_policies(policies, 3)
    assert [len(p) for p in parts] == [3, 3, 3, 2]
    assert pd.concat(parts)["policy_id"].tolist() == sorted(EDGE["policy_id"])
    assert len(partition_policies(EDGE.iloc[:0], 3)) == 1


def test_map_partitions_keeps_order_with_workers():
    parts = partition_policies(EDGE, 1)
    got = list(map_partitions(_first_id, parts, Engine(workers=2)))
    assert got == sorted(EDGE["policy_id"])


def _first_id(part: pd.DataFrame) -> str:
    return part["policy_id"].iloc[0]


def test_partitions_keep_dtypes_and_read_many_chunks_like_one():
    policies = _synthetic(90, seed=4)
    chunked = pa.Table.from_batches(pa.Table.from_pandas(policies.iloc[::-1], preserve_index=False).to_batches(max_chunksize=7)).to_pandas()
    assert pa.chunked_array(chunked["text"].array).num_chunks > 10  # Arrow-backed, as read_policy_columns gives it
    plain, gathered = partition_policies(policies, 20), partition_policies(chunked, 20)
    assert len(plain) == len(gathered) == 5
    for a, b in zip(plain, gathered):
        assert a.dtypes.tolist() == policies.dtypes.tolist()
        pd.testing.assert_frame_equal(a.astype(object), b.astype(object))
        assert a["policy_id"].is_monotonic_increasing


def test_fork_workers_hand_tables_back_through_files_they_clean_up(tmp_path, segmenter, monkeypatch):
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr(engine_module, "_SHM", shm)
    monkeypatch.setattr(engine_module, "_SHM_ROOM", 0)
    policies = _synthetic(60, seed=6)
    spooled = []
    real_unspool = engine_module._unspool
    monkeypatch.setattr(engine_module, "_unspool", lambda r: (spooled.append(r), real_unspool(r))[1])
    got = pa.concat_tables(iter_tokens(policies, segmenter, Engine(workers=2, partition_size=10)))
    assert len(spooled) == 6 and all(isinstance(r, engine_module._Spooled) and r.path.startswith(str(shm)) for r in spooled)
    assert got.equals(pa.concat_tables(iter_tokens(policies, segmenter, Engine(partition_size=10))))
    assert list(shm.iterdir()) == []  # every file unlinked once mapped, the folder removed
    # a consumer that stops early leaves nothing behind either
    pieces = iter_tokens(policies, segmenter, Engine(workers=2, partition_size=10))
    next(pieces)
    pieces.close()
    assert list(shm.iterdir()) == []


def test_a_table_the_spool_cannot_take_goes_through_the_pipe(tmp_path, segmenter):
    table = next(iter_tokens(EDGE, segmenter))
    assert engine_module._spool(table, str(tmp_path / "no-such-folder" / "0.arrow")) is table
    assert engine_module._spool("not a table", str(tmp_path / "1.arrow")) == "not a table"
    spooled = engine_module._spool(table, str(tmp_path / "2.arrow"))
    assert isinstance(spooled, engine_module._Spooled)
    assert engine_module._unspool(spooled).equals(table)
    assert list(tmp_path.iterdir()) == []


def test_streamed_parquet_has_the_bytes_of_write_tables(tmp_path, segmenter):
    policies = _synthetic(60, seed=2)
    whole = tokenize_policies(policies, segmenter)
    reference = tmp_path / "reference.parquet"
    write_tables({reference: whole}, schemas={reference: TOKENS})
    streamed = tmp_path / "streamed.parquet"
    rows = write_parquet_stream(streamed, iter_tokens(policies, segmenter, Engine(partition_size=7)), TOKENS)
    assert rows == len(whole)
    assert streamed.read_bytes() == reference.read_bytes()
    # small row groups: pieces of any size are re-cut the same way
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet_stream(a, [whole], TOKENS, row_group_rows=1000)
    write_parquet_stream(b, iter_tokens(policies, segmenter, Engine(partition_size=11)), TOKENS, row_group_rows=1000)
    assert a.read_bytes() == b.read_bytes()
    assert pd.read_parquet(b).equals(pd.read_parquet(reference))
    # row groups carry the sort key's range (readers skip groups by policy_id), and no other statistics
    import pyarrow.parquet as pq

    groups = pq.ParquetFile(b).metadata
    assert groups.num_row_groups > 1
    for g in range(groups.num_row_groups):
        stats = [groups.row_group(g).column(c).statistics for c in range(5)]
        assert stats[0].has_min_max and stats[0].min <= stats[0].max
        assert all(s is None or not s.has_min_max for s in stats[1:])


def test_arrow_pieces_are_checked_against_the_schema(tmp_path, segmenter):
    piece = next(iter_tokens(_synthetic(5, seed=3), segmenter))
    with pytest.raises(SchemaError, match="columns"):
        write_parquet_stream(tmp_path / "t.parquet", [piece.select(["token", "policy_id", "start", "end", "keyword"])], TOKENS)
    with pytest.raises(SchemaError, match="token has missing values"):
        write_parquet_stream(tmp_path / "t.parquet", [piece.set_column(1, "token", pa.nulls(len(piece), pa.string()))], TOKENS)
    assert list(tmp_path.iterdir()) == []


def test_streamed_parquet_is_atomic(tmp_path, segmenter):
    target = tmp_path / "tokens.parquet"

    def failing():
        yield tokenize_policies(EDGE, segmenter)
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        write_parquet_stream(target, failing(), TOKENS)
    assert list(tmp_path.iterdir()) == []


def test_engine_options():
    parser = argparse.ArgumentParser()
    add_engine_arguments(parser)
    cores = len(os.sched_getaffinity(0))
    assert engine_from_args(parser.parse_args([])) == Engine(workers=cores)
    assert engine_from_args(parser.parse_args(["--workers", "auto"])) == Engine(workers=cores)
    assert engine_from_args(parser.parse_args(["--workers", "2", "--partition-size", "10"])) == Engine("local", 2, 10)
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--workers", bad])
    assert engine_from_args(parser.parse_args(["--scheduler", "tcp://h:8786"])).kind == "dask"
    with pytest.raises(ValueError):
        Engine("spark")
    with pytest.raises(ValueError):
        Engine(workers=0)


def test_policy_chunks_never_split_a_policy(tmp_path, segmenter):
    policies = _synthetic(40, seed=4)
    tokens = tokenize_policies(policies, segmenter)
    path = tmp_path / "tokens.parquet"
    write_tables({path: tokens}, schemas={path: TOKENS})
    chunks = list(iter_policy_chunks(path, columns=["token", "keyword"], rows=500))
    assert len(chunks) > 3
    assert list(chunks[0].columns) == ["policy_id", "token", "keyword"]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), tokens[["policy_id", "token", "keyword"]])
    seen = [set(c["policy_id"]) for c in chunks]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    # so per-chunk keyword partials sum to the whole table's (docs counts policies)
    from analysis.keywords import combine_counts, keyword_counts

    summed = combine_counts([keyword_counts(c, policies) for c in chunks])
    whole = keyword_counts(tokens, policies)
    for got, want in zip((summed.term_year, summed.forms, summed.year_tokens), (whole.term_year, whole.forms, whole.year_tokens)):
        pd.testing.assert_frame_equal(got, want)
    # one policy bigger than a batch still comes out whole
    assert len(list(iter_policy_chunks(path, rows=3))) == 40
    empty = tmp_path / "empty.parquet"
    write_tables({empty: tokens.iloc[:0]}, schemas={empty: TOKENS})
    assert [len(c) for c in iter_policy_chunks(empty)] == [0]


def test_policy_chunks_can_keep_only_flagged_rows(tmp_path, segmenter):
    tokens = tokenize_policies(_synthetic(40, seed=4), segmenter)
    path = tmp_path / "tokens.parquet"
    write_tables({path: tokens}, schemas={path: TOKENS})
    chunks = list(iter_policy_chunks(path, columns=["token"], rows=500, where="keyword"))
    assert len(chunks) > 1 and list(chunks[0].columns) == ["policy_id", "token", "keyword"]
    keywords = tokens.loc[tokens["keyword"], ["policy_id", "token", "keyword"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), keywords)
    seen = [set(c["policy_id"]) for c in chunks]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])
    unflagged = tmp_path / "unflagged.parquet"
    write_tables({unflagged: tokens.loc[~tokens["keyword"]]}, schemas={unflagged: TOKENS})
    assert [len(c) for c in iter_policy_chunks(unflagged, columns=["token"], rows=500, where="keyword")] == [0]
