"""TFMA Evaluator output read without TFMA: overall-slice metrics and the validation verdict."""
import glob
import os
from typing import Dict, Optional

from google.protobuf.message import DecodeError

from lineage import protos, tfrecord


def _metric_value(value) -> Optional[float]:
    kind = value.WhichOneof("type")
    if kind == "double_value":
        return value.double_value.value
    if kind == "bounded_value":
        return value.bounded_value.value.value
    return None


BASELINE_MODEL_NAME = "baseline"  # the name TFX's Evaluator gives the baseline model spec


def overall_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """Overall-slice metrics: {"candidate": {name: value}, "baseline": {...}, "diff": {...}}.

    "baseline" and "diff" (candidate minus baseline) are empty when the evaluation had no
    baseline model.
    """
    pb2 = protos.metrics_for_slice_pb2()
    out: Dict[str, Dict[str, float]] = {"candidate": {}, "baseline": {}, "diff": {}}
    for path in sorted(glob.glob(os.path.join(evaluation_uri, "metrics-*"))):
        for record, stored_crc in tfrecord.iter_records(path):
            try:
                metrics = pb2.MetricsForSlice.FromString(record)
            except DecodeError:
                tfrecord.verify(record, stored_crc, path)  # says "bad checksum" if it is one
                raise
            if metrics.slice_key.single_slice_keys:
                continue
            tfrecord.verify(record, stored_crc, path)
            for item in metrics.metric_keys_and_values:
                value = _metric_value(item.value)
                if value is None:
                    continue
                if item.key.is_diff:
                    group = "diff"
                elif item.key.model_name == BASELINE_MODEL_NAME:
                    group = "baseline"
                else:
                    group = "candidate"
                out[group][item.key.name] = value
    return out


def validation_ok(evaluation_uri: str) -> Optional[bool]:
    """ValidationResult.validation_ok (field 1), read from the protobuf wire format.

    Parsing the whole ValidationResult would need TFMA's config proto, whose generated module
    imports the tensorflow_model_analysis package; field 1 is all this needs.
    """
    path = os.path.join(evaluation_uri, "validations.tfrecord")
    if not os.path.exists(path):
        return None
    for record in tfrecord.read_records(path):
        return bool(_varint_field(record, 1))
    return None


def _read_varint(data: bytes, index: int):
    result, shift = 0, 0
    while True:
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, index
        shift += 7


def _varint_field(data: bytes, field_number: int) -> int:
    """The value of a top-level varint field; 0 (proto3's default) when absent."""
    index = 0
    while index < len(data):
        tag, index = _read_varint(data, index)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, index = _read_varint(data, index)
            if number == field_number:
                return value
        elif wire_type == 1:
            index += 8
        elif wire_type == 2:
            length, index = _read_varint(data, index)
            index += length
        elif wire_type == 5:
            index += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return 0
