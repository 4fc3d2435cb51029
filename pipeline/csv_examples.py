"""A batched CsvExampleGen executor: the same Examples as TFX's, without per-row Python.

TFX's CsvExampleGen yields the CSV line by line into Beam, parses each line, infers column
types over every cell and builds each tf.train.Example cell by cell through Python handlers:
at ten times the taxi rows it was the largest component. This executor reads the files with
Arrow's CSV reader, decides each column's type with Arrow's casts, encodes whole record
batches with tfx_bsl's Example encoder and writes each split's TFRecord file with
TensorFlow's writer. Only hashing each example for its split is left per row (hashlib, in C).

What it must keep equal to TFX's executor, and what the tests pin against it:
- a column's type over all the span's files: INT if every non-empty cell is a Python int in
  int64's range, else FLOAT if every one is a Python int or float, else STRING (a long integer
  is STRING); a column with no value anywhere has no kind;
- an empty cell is a feature of the column's kind with no value;
- the split: sha256 of the example serialized deterministically, modulo the buckets' total;
- the header: the first line of the first file split on commas, the same in every file.

A configuration it does not handle (a partition feature, a payload or file format other than
tf.Examples in gzipped TFRecords) goes to TFX's own executor unchanged. It reads in blocks,
twice (types first, then examples), so memory does not grow with the span; it runs in the
launcher's process, which suits the in-process DirectRunner presets only
(pipeline/pipeline.py keeps TFX's Beam executor for runners that scale out).
"""
import bisect
import hashlib
import os
from typing import Dict, Iterator, List, Optional, Tuple

from absl import logging
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs as specs
from tfx.utils import io_utils, proto_utils

# Column types, ordered as TFX's csv_decoder.ColumnType: a column takes the largest of its cells.
UNKNOWN, INT, FLOAT, STRING = 0, 1, 2, 3
TYPE_NAMES = {UNKNOWN: "no value", INT: "int", FLOAT: "float", STRING: "string"}
# Bytes of CSV per block read: memory does not grow with the span.
BLOCK_BYTES = 16 << 20
# Records buffered before a shard of every split is written.
FLUSH_BYTES = 128 << 20
# TFX's file name prefix for a split's records (tfx/components/example_gen/write_split.py).
RECORD_FILE = "data_tfrecord-{shard:05d}.gz"
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_DIGITS = r"^[+-]?[0-9]+$"


def python_type(cell: str) -> int:
    """One cell's type as TFX's csv_decoder infers it (Python's int() and float())."""
    if not cell:
        return UNKNOWN
    try:
        return INT if _INT64_MIN <= int(cell) <= _INT64_MAX else STRING
    except ValueError:
        try:
            float(cell)
        except ValueError:
            return STRING
        return FLOAT


def _cast(values, arrow_type):
    """values cast by Arrow, or None where Arrow rejects one of them."""
    import pyarrow as pa
    try:
        return values.cast(arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def block_type(column) -> int:
    """The type of one block of a column (an Arrow string array, null where the cell is empty).

    Arrow's casts accept a subset of what Python's int() and float() accept, with the same
    values, so where they succeed they decide; where they fail, the distinct cells are judged by
    Python exactly as TFX does (spaces around a number, underscores in it, a long integer)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    values = column.drop_null()
    if len(values) == 0:
        return UNKNOWN
    if _cast(values, pa.int64()) is not None:
        return INT
    if _cast(values, pa.float64()) is not None:
        # Digits only and still not an int64: too long, which TFX reads as text.
        digits = values.filter(pc.match_substring_regex(values, _DIGITS))
        if len(digits) == 0 or _cast(digits, pa.int64()) is not None:
            return FLOAT
    return max(python_type(cell) for cell in pc.unique(values).to_pylist())


def _python_values(values, kind: int):
    """values (non-null strings) converted by Python as TFX's handlers do."""
    import pyarrow as pa
    cells = values.to_pylist()
    if kind == INT:
        return pa.array([int(c) for c in cells], pa.int64())
    return pa.array([float(c) for c in cells], pa.float64()).cast(pa.float32())


def feature_values(column, kind: int):
    """A block of one column as the encoder's list column: one value per non-empty cell, an
    empty list per empty cell (a feature with no value), or nulls for a column without any
    value in the span (a feature without a kind)."""
    import numpy as np
    import pyarrow as pa
    if kind == UNKNOWN:
        return pa.nulls(len(column), pa.large_list(pa.int64()))
    values = column.drop_null()
    if kind == INT:
        converted = _cast(values, pa.int64())
        converted = converted if converted is not None else _python_values(values, INT)
    elif kind == FLOAT:
        # float(cell) rounded to float32, as FloatList stores it.
        as_double = _cast(values, pa.float64())
        converted = (as_double.cast(pa.float32(), safe=False) if as_double is not None
                     else _python_values(values, FLOAT))
    else:
        converted = values.cast(pa.large_binary())
    present = column.is_valid().to_numpy(zero_copy_only=False)
    offsets = np.concatenate([[0], np.cumsum(present, dtype=np.int64)])
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), converted)


def _blocks(files: List[str], names: List[str]) -> Iterator:
    """Record batches of every file, every column as text (null for an empty cell)."""
    import pyarrow as pa
    from pyarrow import csv
    read = csv.ReadOptions(column_names=names, skip_rows=1, block_size=BLOCK_BYTES,
                           use_threads=True)
    # Only an empty cell is missing, quoted or not; everything else is text to type.
    convert = csv.ConvertOptions(column_types={name: pa.string() for name in names},
                                 null_values=[""], strings_can_be_null=True,
                                 quoted_strings_can_be_null=True)
    parse = csv.ParseOptions(newlines_in_values=True)
    for path in files:
        if "://" in path:
            # A remote file (TFX's file systems) is read whole, one file at a time.
            with fileio.open(path, "rb") as f:
                source = pa.BufferReader(f.read())
        else:
            source = path
        with csv.open_csv(source, read_options=read, parse_options=parse,
                          convert_options=convert) as reader:
            for batch in reader:
                yield path, batch


def column_types(files: List[str], names: List[str]) -> List[int]:
    kinds = [UNKNOWN] * len(names)
    for _, batch in _blocks(files, names):
        for i, column in enumerate(batch.columns):
            if kinds[i] != STRING:
                kinds[i] = max(kinds[i], block_type(column))
    return kinds


def serialized_examples(files: List[str], names: List[str],
                        kinds: List[int]) -> Iterator[List[bytes]]:
    """Each block's examples, serialized deterministically (the bytes TFX hashes)."""
    import pyarrow as pa
    import tensorflow as tf
    from tfx_bsl.coders import example_coder
    encoder = example_coder.RecordBatchToExamplesEncoder()
    for _, batch in _blocks(files, names):
        encoded = encoder.encode(pa.RecordBatch.from_arrays(
            [feature_values(column, kind) for column, kind in zip(batch.columns, kinds)],
            names))
        # The encoder orders features as it likes; TFX hashes the deterministic (sorted) form.
        yield [tf.train.Example.FromString(e).SerializeToString(deterministic=True)
               for e in encoded]


def bucket_bounds(output_config: example_gen_pb2.Output) -> List[int]:
    """Cumulative hash buckets of the output splits, as TFX partitions them."""
    bounds, total = [], 0
    for split in output_config.split_config.splits:
        total += split.hash_buckets
        bounds.append(total)
    return bounds


def _hash(record: bytes) -> int:
    return int.from_bytes(hashlib.sha256(record).digest(), "big")


def split_of(record: bytes, bounds: List[int]) -> Tuple[int, int]:
    """(split index, hash) of one deterministically serialized example."""
    digest = _hash(record)
    return bisect.bisect(bounds, digest % bounds[-1]), digest


def input_files(input_base: str, pattern: str) -> Tuple[List[str], List[str]]:
    """(files, header) of one input split, checked as TFX's CsvExampleGen checks them."""
    files = fileio.glob(os.path.join(input_base, pattern))
    if not files:
        raise RuntimeError(f"Split pattern {os.path.join(input_base, pattern)} does not match "
                           "any files.")
    names = io_utils.load_csv_column_names(files[0])
    for path in files[1:]:
        if io_utils.load_csv_column_names(path) != names:
            raise RuntimeError(f"Files in same split {os.path.join(input_base, pattern)} have "
                               "different header.")
    return files, names


class SplitWriter:
    """Writes each split's records in shards of bounded size, each shard in the order of its
    records' hashes: deterministic, not the order of the files (TFX shuffles its output too),
    and memory bounded by FLUSH_BYTES whatever the span's size."""

    def __init__(self, folders: List[str]):
        self._folders = folders
        self._buffers: List[List[Tuple[int, bytes]]] = [[] for _ in folders]
        self._buffered = 0
        self._shard = 0
        for folder in folders:
            fileio.makedirs(folder)

    def add(self, split: int, digest: int, record: bytes) -> None:
        self._buffers[split].append((digest, record))
        self._buffered += len(record)
        if self._buffered >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        import tensorflow as tf
        options = tf.io.TFRecordOptions(compression_type="GZIP")
        for folder, records in zip(self._folders, self._buffers):
            if not records and self._shard:
                continue
            records.sort(key=lambda pair: pair[0])
            path = os.path.join(folder, RECORD_FILE.format(shard=self._shard))
            with tf.io.TFRecordWriter(path, options) as writer:
                for _, record in records:
                    writer.write(record)
            records.clear()
        self._buffered = 0
        self._shard += 1


def _handled(input_config: example_gen_pb2.Input, output_config: example_gen_pb2.Output,
             exec_properties: Dict) -> bool:
    payload = exec_properties.get(specs.OUTPUT_DATA_FORMAT_KEY)
    file_format = exec_properties.get(specs.OUTPUT_FILE_FORMAT_KEY)
    return (payload in (None, example_gen_pb2.FORMAT_TF_EXAMPLE)
            and file_format in (None, example_gen_pb2.FILE_FORMAT_UNSPECIFIED,
                                example_gen_pb2.FORMAT_TFRECORDS_GZIP)
            and not output_config.split_config.partition_feature_name)


class Executor(csv_executor.Executor):
    """CsvExampleGen's executor, batched (module docstring)."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        input_config = example_gen_pb2.Input()
        proto_utils.json_to_proto(exec_properties[specs.INPUT_CONFIG_KEY], input_config)
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[specs.OUTPUT_CONFIG_KEY], output_config)
        if not _handled(input_config, output_config, exec_properties):
            logging.info("Batched CSV reader: configuration not handled, using TFX's executor")
            return super().Do(input_dict, output_dict, exec_properties)
        self._log_startup(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[specs.EXAMPLES_KEY])
        split_names = example_gen_utils.generate_output_split_names(input_config, output_config)
        examples.split_names = artifact_utils.encode_split_names(split_names)
        input_base = exec_properties[specs.INPUT_BASE_KEY]
        hashed = len(input_config.splits) == 1
        bounds = bucket_bounds(output_config) if hashed else None
        folders = [artifact_utils.get_split_uri([examples], name) for name in split_names]
        for index, split in enumerate(input_config.splits):
            files, names = input_files(input_base, split.pattern)
            kinds = column_types(files, names)
            logging.info("Batched CSV reader: %s: %s", split.pattern,
                         ", ".join(f"{n} {TYPE_NAMES[k]}" for n, k in zip(names, kinds)))
            writer = SplitWriter(folders if hashed else [folders[index]])
            for records in serialized_examples(files, names, kinds):
                for record in records:
                    target, digest = split_of(record, bounds) if hashed else (0, _hash(record))
                    writer.add(target, digest, record)
            writer.flush()
        logging.info("Batched CSV reader: examples generated")
