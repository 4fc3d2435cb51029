"""The artifact readers' file framing: TFRecord (against TensorFlow's own writer and the format
written by hand) and the protobuf wire walker (against messages built with real protos); and
that the readers stay free of TensorFlow."""
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from artifacts import tfrecord, wire
from tests.support.tfrecords import record_offsets, write_records

REPO = Path(__file__).resolve().parents[2]


def test_tfrecord_reader_returns_each_record(tmp_path):
    path = tmp_path / "r.tfrecord"
    write_records(path, [b"first", b"", b"x" * 1000])
    assert list(tfrecord.read_records(str(path))) == [b"first", b"", b"x" * 1000]


def test_tfrecord_written_by_tensorflow_is_read_with_every_checksum_checked(tmp_path):
    import tensorflow as tf
    payloads = [b"first", b"", bytes(range(256)) * 40, b"last"]
    path = tmp_path / "tf.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for data in payloads:
            writer.write(data)
    raw = path.read_bytes()
    # Every stored checksum is the one masked_crc computes: the reader checks them all.
    for (start, data_start), data in zip(record_offsets(payloads), payloads):
        assert struct.unpack("<I", raw[start + 8:start + 12])[0] == \
            tfrecord.masked_crc(raw[start:start + 8])
        assert struct.unpack("<I", raw[data_start + len(data):data_start + len(data) + 4])[0] \
            == tfrecord.masked_crc(data)
    assert list(tfrecord.read_records(str(path))) == payloads


@pytest.mark.parametrize("record", [0, 1, 2])
def test_a_flipped_data_byte_in_any_record_names_the_file(tmp_path, record):
    payloads = [b"alpha" * 10, b"beta" * 10, b"gamma" * 10]
    path = tmp_path / "r.tfrecord"
    write_records(path, payloads)
    raw = bytearray(path.read_bytes())
    raw[record_offsets(payloads)[record][1] + 3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(tfrecord.CorruptRecord, match=f"{path}: bad data checksum"):
        list(tfrecord.read_records(str(path)))


def test_a_damaged_length_or_a_truncated_file_names_the_file(tmp_path):
    payloads = [b"payload", b"second"]
    path = tmp_path / "r.tfrecord"
    write_records(path, payloads)
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[record_offsets(payloads)[1][0]] ^= 0x01  # the second record's length
    path.write_bytes(bytes(damaged))
    with pytest.raises(tfrecord.CorruptRecord, match=f"{path}: bad length checksum"):
        list(tfrecord.read_records(str(path)))
    path.write_bytes(good[:15])
    with pytest.raises(tfrecord.CorruptRecord, match=f"{path}: truncated record"):
        list(tfrecord.read_records(str(path)))
    path.write_bytes(good[:len(good) - 1])
    with pytest.raises(tfrecord.CorruptRecord, match=f"{path}: truncated record"):
        list(tfrecord.read_records(str(path)))
    path.write_bytes(good[:5])
    with pytest.raises(tfrecord.CorruptRecord, match=f"{path}: truncated record header"):
        list(tfrecord.read_records(str(path)))


def test_wire_walker_reads_every_wire_type_of_a_real_message():
    feature = schema_pb2.Feature(name="fare", type=schema_pb2.FLOAT)
    feature.float_domain.min = 0.5
    numeric = statistics_pb2.NumericStatistics(mean=2.25, num_zeros=300)
    data = feature.SerializeToString()

    fields = list(wire.fields(data))

    name_field = schema_pb2.Feature.DESCRIPTOR.fields_by_name
    assert [(n, t) for n, t, _ in fields] == [
        (name_field["name"].number, wire.LENGTH_DELIMITED),
        (name_field["type"].number, wire.VARINT),
        (name_field["float_domain"].number, wire.LENGTH_DELIMITED)]
    assert fields[0][2] == b"fare" and fields[1][2] == schema_pb2.FLOAT
    domain = dict((n, v) for n, _, v in wire.fields(fields[2][2]))
    min_number = schema_pb2.FloatDomain.DESCRIPTOR.fields_by_name["min"].number
    assert struct.unpack("<f", domain[min_number]) == (0.5,)  # fixed32
    by_number = {n: (t, v) for n, t, v in wire.fields(numeric.SerializeToString())}
    mean = statistics_pb2.NumericStatistics.DESCRIPTOR.fields_by_name["mean"].number
    zeros = statistics_pb2.NumericStatistics.DESCRIPTOR.fields_by_name["num_zeros"].number
    assert by_number[mean][0] == wire.FIXED64 and struct.unpack("<d", by_number[mean][1]) == (2.25,)
    assert by_number[zeros] == (wire.VARINT, 300)
    assert wire.varint_field(data, name_field["type"].number) == schema_pb2.FLOAT
    assert wire.varint_field(data, 99) == 0


def test_wire_walker_rejects_a_truncated_message():
    data = schema_pb2.Feature(name="payment_type").SerializeToString()
    with pytest.raises(ValueError, match="truncated"):
        list(wire.fields(data[:-1]))
    with pytest.raises(ValueError, match="truncated"):
        list(wire.fields(b"\x08\xff"))  # a varint whose continuation byte is missing


def test_artifact_readers_import_no_tensorflow(tmp_path):
    write_records(tmp_path / "validations.tfrecord", [b"\x08\x01"])
    code = (
        "import sys\n"
        "from artifacts import (anomalies, drift, evaluation, files, protos, schema,\n"
        "                       statistics, tfrecord, tuning, wire)\n"
        "protos.metrics_for_slice_pb2()\n"
        f"assert evaluation.validation_ok({str(tmp_path)!r}) is True\n"
        f"assert evaluation.overall_metrics({str(tmp_path)!r})['candidate'] == {{}}\n"
        f"schema.schema_features({str(REPO / 'schema')!r})\n"
        "heavy = [m for m in ('tensorflow', 'tfx', 'tensorflow_model_analysis', 'apache_beam',\n"
        "                     'tensorflow_data_validation') if m in sys.modules]\n"
        "assert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
