"""The batched CSV executor (pipeline/csv_examples.py) against TFX's own CsvExampleGen executor,
both run for real on the same files: the same examples in the same splits, record for record,
on the shipped datasets' spans and on cells that test the type rules (spaces, underscores,
long integers, nan and inf, quotes and line breaks inside cells, empty columns)."""
import collections
import json
import os
import shutil
from pathlib import Path

import pytest

from pipeline import csv_examples

REPO = Path(__file__).resolve().parents[3]
DATASETS = sorted(p.parent for p in (REPO / "data").glob("*/dataset.yaml"))
SPLITS = {"train": 3, "eval": 1, "test": 1}


def _run(executor_class, input_base: Path, out: Path, pattern: str, splits=SPLITS):
    import tensorflow as tf
    from tfx.proto import example_gen_pb2
    from tfx.types import standard_artifacts
    from tfx.utils import proto_utils
    examples = standard_artifacts.Examples()
    examples.uri = str(out)
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="single_split", pattern=pattern)])
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name=n, hash_buckets=b) for n, b in splits.items()]))
    executor_class().Do({}, {"examples": [examples]}, {
        "input_base": str(input_base),
        "input_config": proto_utils.proto_to_json(input_config),
        "output_config": proto_utils.proto_to_json(output_config),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
    })
    result = {}
    for split in json.loads(examples.split_names):
        folder = out / f"Split-{split}"
        records = collections.Counter()
        for name in sorted(os.listdir(folder)):
            for record in tf.data.TFRecordDataset(str(folder / name), compression_type="GZIP"):
                example = tf.train.Example.FromString(record.numpy())
                records[example.SerializeToString(deterministic=True)] += 1
        result[split] = records
    return result


def both(tmp_path: Path, input_base: Path, pattern: str, **kwargs):
    from tfx.components.example_gen.csv_example_gen import executor as tfx_executor
    ours = _run(csv_examples.Executor, input_base, tmp_path / "batched", pattern, **kwargs)
    theirs = _run(tfx_executor.Executor, input_base, tmp_path / "tfx", pattern, **kwargs)
    return ours, theirs


def assert_same(ours, theirs):
    assert set(ours) == set(theirs)
    for split in theirs:
        assert sum(ours[split].values()) == sum(theirs[split].values()), split
        assert ours[split] == theirs[split], split


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda p: p.name)
def test_every_shipped_span_gives_the_same_examples_as_csv_example_gen(dataset, tmp_path):
    spans = sorted((dataset / "spans").glob("span-*"))
    ours, theirs = both(tmp_path, dataset / "spans", f"{spans[-1].name}/*.csv")
    assert_same(ours, theirs)
    assert sum(sum(c.values()) for c in ours.values()) > 0


TRICKY = (
    "whole,mixed,spaced,under,long,special,text,blank,quoted,neg\n"
    "1,1,\" 7\",1_000,99999999999999999999,nan,a,,\"x, y\",-3\n"
    "2,2.5,8,2,3,inf,b,,\"line\nbreak\",+4\n"
    ",,,,,-inf,,,\"\",\n"
    "4,1e3,9,4,5,1.5,\"he said \"\"hi\"\"\",,plain,-0\n"
    "9223372036854775807,-.5,10,5,6,-0.0,é,,z,7\n"
)


def test_type_rules_match_csv_example_gen_cell_for_cell(tmp_path):
    span = tmp_path / "data" / "span-1"
    span.mkdir(parents=True)
    (span / "a.csv").write_text(TRICKY, encoding="utf-8")
    # A second file with the same header: a column's type is decided over every file.
    (span / "b.csv").write_text("whole,mixed,spaced,under,long,special,text,blank,quoted,neg\n"
                                "5,6,7,8,9,10,11,,12,13\n" * 7, encoding="utf-8")
    ours, theirs = both(tmp_path, tmp_path / "data", "span-1/*.csv")
    assert_same(ours, theirs)


def test_crlf_files_give_the_same_examples(tmp_path):
    span = tmp_path / "data" / "span-1"
    span.mkdir(parents=True)
    (span / "a.csv").write_bytes(b"a,b,c\r\n1,x,2.5\r\n2,,\r\n3,z,4\r\n")
    ours, theirs = both(tmp_path, tmp_path / "data", "span-1/*.csv")
    assert_same(ours, theirs)


def test_python_type_follows_csv_decoder():
    from tfx_bsl.coders import csv_decoder
    theirs = {csv_decoder.ColumnType.UNKNOWN: csv_examples.UNKNOWN,
              csv_decoder.ColumnType.INT: csv_examples.INT,
              csv_decoder.ColumnType.FLOAT: csv_examples.FLOAT,
              csv_decoder.ColumnType.STRING: csv_examples.STRING}
    for cell in [b"", b"1", b" 1 ", b"1_0", b"+2", b"-0", b"1.5", b"1e5", b"nan", b"inf",
                 b"-Infinity", b"99999999999999999999", b"x", b"0x10", b"1,5", b"\xc3\xa9"]:
        # The private rule the executor mirrors, pinned here.
        assert csv_examples.python_type(cell.decode()) == \
            theirs[csv_decoder._InferValueType(cell)], cell


def test_block_type_agrees_with_python_on_each_cell():
    import pyarrow as pa
    cases = [["1", "2"], ["1", "2.5"], [" 1", "2"], ["1_0"], ["99999999999999999999", "1.5"],
             ["nan", "1"], ["a", "1"], [None, None], ["1", None], ["1e3"], ["+5", "-0"]]
    for cells in cases:
        expected = max((csv_examples.python_type(c) for c in cells if c), default=0)
        assert csv_examples.block_type(pa.array(cells, pa.string())) == expected, cells


def test_large_span_is_written_in_shards_of_bounded_size(tmp_path, monkeypatch):
    span = tmp_path / "data" / "span-1"
    span.mkdir(parents=True)
    (span / "a.csv").write_text("n,t\n" + "".join(f"{i},row {i}\n" for i in range(3000)))
    monkeypatch.setattr(csv_examples, "FLUSH_BYTES", 20_000)
    ours, theirs = both(tmp_path, tmp_path / "data", "span-1/*.csv")
    assert_same(ours, theirs)
    shards = os.listdir(tmp_path / "batched" / "Split-train")
    assert len(shards) > 1


def test_missing_files_fail_like_csv_example_gen(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(RuntimeError, match="does not match any files"):
        _run(csv_examples.Executor, tmp_path / "data", tmp_path / "out", "span-1/*.csv")


def test_files_with_different_headers_fail(tmp_path):
    span = tmp_path / "data" / "span-1"
    span.mkdir(parents=True)
    (span / "a.csv").write_text("a,b\n1,2\n")
    (span / "b.csv").write_text("a,c\n1,2\n")
    with pytest.raises(RuntimeError, match="different header"):
        _run(csv_examples.Executor, tmp_path / "data", tmp_path / "out", "span-1/*.csv")
