"""The artifact readers' file framing: TFRecord (against TensorFlow's own writer and the format
written by hand) and the protobuf wire walker (against messages built with real protos); that
damaged or crafted files make every reader raise CorruptRecord and nothing else; and that the
readers stay free of TensorFlow."""
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from tabflow.artifacts import tfrecord, wire
from tests.support.tfrecords import record_offsets, write_records

REPO = Path(__file__).resolve().parents[4]


def test_tfrecord_reader_returns_each_record(tmp_path):
    path = tmp_path / "r.tfrecord"
    write_records(path, [b"first", b"", b"x" * 1000])
    assert list(tfrecord.read_records(str(path))) == [(0, b"first"), (21, b""), (37, b"x" * 1000)]


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
    assert [data for _, data in tfrecord.read_records(str(path))] == payloads


@pytest.mark.parametrize("record", [0, 1, 2])
def test_a_flipped_data_byte_in_any_record_names_the_file(tmp_path, record):
    payloads = [b"alpha" * 10, b"beta" * 10, b"gamma" * 10]
    path = tmp_path / "r.tfrecord"
    write_records(path, payloads)
    raw = bytearray(path.read_bytes())
    start, data_start = record_offsets(payloads)[record]
    raw[data_start + 3] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(tfrecord.CorruptRecord,
                       match=f"{path}: bad data checksum \\(corrupt record at byte {start}\\)"):
        list(tfrecord.read_records(str(path)))


def test_a_damaged_length_or_a_truncated_file_names_the_file(tmp_path):
    payloads = [b"payload", b"second"]
    path = tmp_path / "r.tfrecord"
    write_records(path, payloads)
    good = path.read_bytes()
    damaged = bytearray(good)
    second = record_offsets(payloads)[1][0]
    damaged[second] ^= 0x01  # the second record's length
    path.write_bytes(bytes(damaged))
    with pytest.raises(tfrecord.CorruptRecord,
                       match=f"{path}: bad length checksum \\(corrupt record at byte {second}\\)"):
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
    feature = schema_pb2.Feature(name="amount", type=schema_pb2.FLOAT)
    feature.float_domain.min = 0.5
    numeric = statistics_pb2.NumericStatistics(mean=2.25, num_zeros=300)
    data = feature.SerializeToString()

    fields = list(wire.fields(data))

    name_field = schema_pb2.Feature.DESCRIPTOR.fields_by_name
    assert [(n, t) for n, t, _ in fields] == [
        (name_field["name"].number, wire.LENGTH_DELIMITED),
        (name_field["type"].number, wire.VARINT),
        (name_field["float_domain"].number, wire.LENGTH_DELIMITED)]
    assert fields[0][2] == b"amount" and fields[1][2] == schema_pb2.FLOAT
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
    data = schema_pb2.Feature(name="kind").SerializeToString()
    with pytest.raises(ValueError, match="truncated"):
        list(wire.fields(data[:-1]))
    with pytest.raises(ValueError, match="truncated"):
        list(wire.fields(b"\x08\xff"))  # a varint whose continuation byte is missing


def test_artifact_readers_import_no_tensorflow(tmp_path):
    write_records(tmp_path / "validations.tfrecord", [b"\x08\x01"])
    code = (
        "import sys\n"
        "from tabflow.artifacts import (anomalies, drift, evaluation, files, protos, schema,\n"
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


# --- damaged and crafted files: every reader raises CorruptRecord and nothing else -----------

def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        if not value:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def _frame(data: bytes, length=None) -> bytes:
    """One TFRecord record with valid checksums; `length` claims another length than data's."""
    header = struct.pack("<Q", len(data) if length is None else length)
    return (header + struct.pack("<I", tfrecord.masked_crc(header)) + data
            + struct.pack("<I", tfrecord.masked_crc(data)))


def _validation_result() -> bytes:
    from tensorflow_model_analysis.proto import validation_result_pb2 as vr
    result = vr.ValidationResult(validation_ok=False, missing_thresholds=True)
    per_slice = result.metric_validations_per_slice.add()
    per_slice.slice_key.single_slice_keys.add(column="kind", bytes_value=b"red")
    failure = per_slice.failures.add(message="AUC 0.61 is below 0.7")
    failure.metric_key.name = "auc"
    failure.metric_value.double_value.value = 0.61
    return result.SerializeToString()


def _statistics() -> bytes:
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = stats.datasets.add(num_examples=40)
    amount = dataset.features.add(type=statistics_pb2.FeatureNameStatistics.FLOAT)
    amount.path.step.append("amount")
    amount.num_stats.mean, amount.num_stats.max = 9.5, 40.0
    histogram = amount.num_stats.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    histogram.buckets.add(low_value=0.0, high_value=10.0, sample_count=30)
    histogram.buckets.add(low_value=10.0, high_value=40.0, sample_count=10)
    kind = dataset.features.add(name="kind", type=statistics_pb2.FeatureNameStatistics.STRING)
    kind.string_stats.unique = 2
    kind.string_stats.common_stats.num_non_missing = 40
    kind.string_stats.top_values.add(value="red", frequency=25)
    kind.string_stats.top_values.add(value="dark red", frequency=15)
    return stats.SerializeToString()


def _anomalies() -> bytes:
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    found = anomalies_pb2.Anomalies()
    info = found.anomaly_info["kind"]
    info.reason.add(type=anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES,
                    short_description="Unexpected string values", description="green")
    found.baseline.feature.add(name="kind", type=schema_pb2.BYTES)
    return found.SerializeToString()


def _artifacts():
    """{file name: (valid bytes, the readers of the folder holding it, is a TFRecord file)},
    the files built with the real protos and written as the components write them."""
    from tabflow.artifacts import anomalies, drift, evaluation, protos, schema, statistics, tuning
    from tests.support.tfrecords import metrics_record
    pb2 = protos.metrics_for_slice_pb2()
    plots = pb2.PlotsForSlice()
    plots.plot_keys_and_values.add().value.confusion_matrix_at_thresholds.matrices.add(
        threshold=0.5, true_positives=3, precision=0.75)
    metrics = [metrics_record(pb2, "candidate", "auc", 0.91),
               metrics_record(pb2, "candidate", "auc", 0.5, slice_feature="hour")]
    from google.protobuf import text_format
    curated = schema.load_schema(REPO / "data" / "taxi" / "schema.pbtxt")
    schema_text = text_format.MessageToString(schema_pb2.Schema(feature=curated.feature[:2]))
    baseline = statistics_pb2.DatasetFeatureStatisticsList.FromString(_statistics()).datasets[0]

    def drifts(uri):
        return [drift.feature_drifts(baseline, s)
                for s in statistics.read_statistics(uri).values()]

    return {
        "metrics-00000-of-00001": (b"".join(map(_frame, metrics)), True, [
            evaluation.overall_metrics, evaluation.metrics_by_slice]),
        "plots-00000-of-00001": (_frame(plots.SerializeToString()), True,
                                 [evaluation.overall_plots]),
        "validations.tfrecord": (_frame(_validation_result()), True, [
            evaluation.validation, evaluation.validation_ok]),
        "Split-train/FeatureStats.pb": (_statistics(), False, [
            statistics.statistics_summary, statistics.row_counts, drifts]),
        "Split-train/SchemaDiff.pb": (_anomalies(), False, [anomalies.anomaly_lines]),
        "eval_config.json": (json.dumps({"evalConfig": {"metricsSpecs": [{"metrics": [{
            "className": "AUC", "perSliceThresholds": [{"slicingSpecs": [{}], "threshold": {
                "valueThreshold": {"lowerBound": 0.7}}}]}]}]}}).encode(), False,
                             [evaluation.thresholds]),
        "drift.json": (json.dumps({"passed": True, "features": []}).encode(), False,
                       [drift.read_drift_report]),
        "best_hyperparameters.txt": (json.dumps({"values": {"learning_rate": 0.01}}).encode(),
                                     False, [tuning.hyperparameters]),
        "schema.pbtxt": (schema_text.encode(), False, [schema.schema_features]),
    }


def _record_ends(raw: bytes):
    ends, start = [0], 0
    while start < len(raw):
        start += 12 + struct.unpack("<Q", raw[start:start + 8])[0] + 4
        ends.append(start)
    return ends


def _mutations(raw: bytes, tfrecord_file: bool):
    """(name, bytes, whether the damage must be detected): the file cut at every offset, one
    bit flipped in every byte, and for a TFRecord file the same done to the first record's
    payload with its checksums made valid again, so the damage reaches the protobuf parsers
    behind the checksums. In a TFRecord file, the checksums and lengths must catch every flip
    and every cut but those between records."""
    ends = _record_ends(raw) if tfrecord_file else []
    for n in range(len(raw)):
        yield f"cut at {n}", raw[:n], tfrecord_file and n not in ends
    for i in range(len(raw)):
        yield (f"bit {i % 8} of byte {i}", raw[:i] + bytes([raw[i] ^ 1 << i % 8]) + raw[i + 1:],
               tfrecord_file)
    if tfrecord_file:
        payload = raw[12:ends[1] - 4]
        for name, damaged, _ in _mutations(payload, False):
            yield f"payload {name}", _frame(damaged) + raw[ends[1]:], False


def _only_corrupt_record_escapes(folder: Path, path: Path, readers, label: str) -> bool:
    """Runs every reader; True if one raised CorruptRecord (naming the file), False if all
    read the file. Anything else escaping fails the test."""
    raised = False
    for read in readers:
        try:
            read(str(folder))
        except tfrecord.CorruptRecord as e:
            assert str(path) in str(e), (label, str(e))
            assert "\n" not in str(e), (label, str(e))
            raised = True
        except Exception as e:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{path.name}, {label}: {read.__name__} let {type(e).__name__} "
                        f"escape: {e}")
    return raised


@pytest.mark.parametrize("name", list(_artifacts()))
def test_damage_anywhere_in_an_artifact_file_raises_only_corrupt_record(tmp_path, name):
    raw, tfrecord_file, readers = _artifacts()[name]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    for read in readers:
        read(str(tmp_path))  # the undamaged file reads
    caught = 0
    for label, damaged, must_fail in _mutations(raw, tfrecord_file):
        path.write_bytes(damaged)
        raised = _only_corrupt_record_escapes(tmp_path, path, readers, label)
        assert raised or not must_fail, f"{name}, {label}: read as if whole"
        caught += raised
    assert caught, "no mutation was detected: the table does not exercise the readers"


def _evaluation_folder(tmp_path, name, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("length", [2 ** 63, 2 ** 64 - 1, 2 ** 40, 2 ** 30])
def test_a_crafted_record_length_is_refused_before_anything_is_allocated(tmp_path, length):
    import tracemalloc
    from tabflow.artifacts import evaluation
    first = _frame(b"\x08\x01")
    path = _evaluation_folder(tmp_path, "validations.tfrecord",
                              first + _frame(b"\x08\x01", length=length))
    tracemalloc.start()
    try:
        with pytest.raises(tfrecord.CorruptRecord) as raised:
            list(tfrecord.read_records(str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    assert str(raised.value) == (
        f"{path}: truncated record: its length says {length} bytes, the file has 2 left "
        f"(corrupt record at byte {len(first)})")
    assert evaluation.validation_ok(str(tmp_path)) is True  # the first record is whole


@pytest.mark.parametrize("payload, why", [
    (b"\x08" + b"\xff" * 10 + b"\x01", "the varint at byte 1 is longer than 10 bytes"),
    (b"\x08" + b"\xff" * 9 + b"\x7f", "the varint at byte 1 is over 64 bits"),
    (b"\x80" * 11, "the varint at byte 0 is longer than 10 bytes"),
    (b"\x12" + _varint(2 ** 62) + b"ab", "field 2 at byte 0 claims 4611686018427387904 bytes, "
                                         "2 are left"),
    (b"\x12\x05\x1a\x05abc", "field 3 at byte 0 claims 5 bytes, 3 are left"),
    (b"\x00\x01", "invalid protobuf field number 0 at byte 0"),
    (b"\x0b\x0c", "unsupported protobuf wire type 3 at byte 0"),
    (b"\x12\x03\x12\x01\xff", "not a ValidationResult record: Error parsing message"),
])
def test_a_malformed_validation_result_names_the_file_the_record_and_the_fault(
        tmp_path, payload, why):
    from tabflow.artifacts import evaluation
    first = _frame(b"")
    path = _evaluation_folder(tmp_path, "validations.tfrecord", first)
    assert evaluation.validation(str(tmp_path))["ok"] is False
    path.write_bytes(_frame(payload))
    with pytest.raises(tfrecord.CorruptRecord) as raised:
        evaluation.validation(str(tmp_path))
    message = str(raised.value)
    assert message.startswith(f"{path}: not a ValidationResult record: ")
    assert why in message and message.endswith("(corrupt record at byte 0)")


def test_wire_types_other_than_the_declared_ones_are_skipped_as_protobuf_skips_them(tmp_path):
    from tabflow.artifacts import evaluation
    # validation_ok as a length-delimited field, then per-slice validations (field 2) as a
    # varint, then the real validation_ok: protobuf keeps only the last, well-typed one.
    _evaluation_folder(tmp_path, "validations.tfrecord", _frame(b"\x0a\x00\x10\x05\x08\x01"))
    assert evaluation.validation(str(tmp_path))["ok"] is True
    assert evaluation.validation(str(tmp_path))["failures"] == []


def test_nesting_deeper_than_the_parsers_limit_is_a_corrupt_record(tmp_path):
    from tabflow.artifacts import anomalies, schema
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    def field(message_class, name, value: bytes) -> bytes:
        number = message_class.DESCRIPTOR.fields_by_name[name].number
        return _varint(number << 3 | 2) + _varint(len(value)) + value

    # Anomalies.baseline -> Schema.feature -> Feature.struct_domain -> StructDomain.feature
    # -> Feature.struct_domain ... 5000 levels deep.
    feature = b""
    for _ in range(5000):
        feature = field(schema_pb2.Feature, "struct_domain",
                        field(schema_pb2.StructDomain, "feature", feature))
    message = field(anomalies_pb2.Anomalies, "baseline",
                    field(schema_pb2.Schema, "feature", feature))
    path = tmp_path / "Split-train" / "SchemaDiff.pb"
    path.parent.mkdir()
    path.write_bytes(message)
    with pytest.raises(tfrecord.CorruptRecord, match=f"{path}: not an Anomalies message"):
        anomalies.read_anomalies(str(tmp_path))
    text = tmp_path / "schema.pbtxt"
    text.write_text('feature { name: "a" struct_domain { ' * 3000 + "} }" * 3000)
    with pytest.raises(tfrecord.CorruptRecord,
                       match=f"{text}: not a valid text-format Schema: nested deeper"):
        schema.load_schema(text)


def test_json_and_text_files_name_the_byte_at_fault(tmp_path):
    from tabflow.artifacts import drift, schema
    (tmp_path / "drift.json").write_bytes(b'{"passed": true,\n "features": [1, }')
    with pytest.raises(tfrecord.CorruptRecord) as raised:
        drift.read_drift_report(str(tmp_path))
    assert str(raised.value) == (
        f"{tmp_path / 'drift.json'}: not JSON: Expecting value at line 2 column 18 "
        "(corrupt record at byte 34)")
    (tmp_path / "drift.json").write_bytes(b'{"passed": "\xff"}')
    with pytest.raises(tfrecord.CorruptRecord, match=r"not UTF-8 text: invalid start byte "
                                                     r"\(corrupt record at byte 12\)"):
        drift.read_drift_report(str(tmp_path))
    (tmp_path / "schema.pbtxt").write_bytes(b'feature { name: "\xc3" }')
    with pytest.raises(tfrecord.CorruptRecord, match=r"corrupt record at byte 17"):
        schema.read_schema(str(tmp_path))
