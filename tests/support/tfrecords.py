"""TFRecord files and TFMA records written by hand, so readers are checked against the formats
themselves rather than against the code that reads them."""
import struct

from tabflow.artifacts import tfrecord


def write_records(path, payloads):
    """TFRecord framing written by hand, so the reader is checked against the format itself."""
    with open(path, "wb") as f:
        for data in payloads:
            length = struct.pack("<Q", len(data))
            f.write(length + struct.pack("<I", tfrecord.masked_crc(length)) + data
                    + struct.pack("<I", tfrecord.masked_crc(data)))


def record_offsets(payloads):
    """(start of the record, start of its data) for each record of a TFRecord file."""
    out, start = [], 0
    for data in payloads:
        out.append((start, start + 12))
        start += 12 + len(data) + 4
    return out


def metrics_record(pb2, model_name, name, value, is_diff=False, slice_feature=None):
    metrics = pb2.MetricsForSlice()
    if slice_feature:
        key = metrics.slice_key.single_slice_keys.add()
        key.column, key.int64_value = slice_feature, 3
    item = metrics.metric_keys_and_values.add()
    item.key.name, item.key.model_name, item.key.is_diff = name, model_name, is_diff
    item.value.double_value.value = value
    return metrics.SerializeToString()
