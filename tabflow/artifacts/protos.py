"""Proto messages the artifact readers parse, with their strings checked.

TFMA's metrics_for_slice_pb2 comes from tabflow/compat/tfma_protos.py, which loads it without
importing TFMA (and TensorFlow); it is re-exported here for the readers.
"""
from tabflow.compat.tfma_protos import metrics_for_slice_pb2  # noqa: F401


def parse(message_class, data: bytes):
    """message_class parsed from data, its strings checked: protobuf's C++ parser lets a string
    that is not UTF-8 through and hands it back as bytes, which would fail whoever reads it."""
    message = message_class.FromString(data)
    _check_strings(message)
    return message


def _has_strings(descriptor, seen=()) -> bool:
    if descriptor.full_name not in _HAS_STRINGS:
        _HAS_STRINGS[descriptor.full_name] = descriptor.full_name in seen or any(
            f.type == f.TYPE_STRING or (f.type == f.TYPE_MESSAGE and _has_strings(
                f.message_type, seen + (descriptor.full_name,)))
            for f in descriptor.fields)
    return _HAS_STRINGS[descriptor.full_name]


_HAS_STRINGS: dict = {}


def _check_strings(message) -> None:
    for field, value in message.ListFields():
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            key, item = entry.fields_by_name["key"], entry.fields_by_name["value"]
            for k, v in value.items():
                _check_text(key, k)
                _check_value(item, v)
        else:
            for v in (value if field.label == field.LABEL_REPEATED else [value]):
                _check_value(field, v)


def _check_value(field, value) -> None:
    if field.type == field.TYPE_STRING:
        _check_text(field, value)
    elif field.type == field.TYPE_MESSAGE and _has_strings(field.message_type):
        _check_strings(value)


def _check_text(field, value) -> None:
    if field.type == field.TYPE_STRING and not isinstance(value, str):
        raise ValueError(f"{field.full_name} is not UTF-8 text")
