"""Proto modules the artifact readers need, loaded without their heavy packages.

tensorflow_metadata's protos import only protobuf. TFMA's metrics_for_slice_pb2 also imports
only protobuf, but importing it the normal way runs tensorflow_model_analysis/__init__, which
imports TensorFlow and Beam (seconds). So the file is loaded under a private module name; if
the real TFMA is already imported, its module is used instead, because registering the same
descriptor file twice in one pool is an error.
"""
import importlib.util
import sys
from types import ModuleType

_TFMA_PROTO = "tensorflow_model_analysis.proto.metrics_for_slice_pb2"
_PRIVATE_NAME = "_artifacts_tfma_metrics_for_slice_pb2"


def _tfma_proto_path() -> str:
    # find_spec on the top-level package locates it without executing its __init__.
    spec = importlib.util.find_spec("tensorflow_model_analysis")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("tensorflow_model_analysis is not installed")
    return f"{list(spec.submodule_search_locations)[0]}/proto/metrics_for_slice_pb2.py"


def metrics_for_slice_pb2() -> ModuleType:
    """TFMA's metrics_for_slice_pb2 (MetricsForSlice, PlotsForSlice, MetricKey, MetricValue,
    SliceKey), without importing TFMA unless it is already imported."""
    if _TFMA_PROTO in sys.modules:
        return sys.modules[_TFMA_PROTO]
    if _PRIVATE_NAME in sys.modules:
        return sys.modules[_PRIVATE_NAME]
    if "tensorflow_model_analysis" in sys.modules:
        import tensorflow_model_analysis.proto.metrics_for_slice_pb2 as real
        return real
    spec = importlib.util.spec_from_file_location(_PRIVATE_NAME, _tfma_proto_path())
    module = importlib.util.module_from_spec(spec)
    sys.modules[_PRIVATE_NAME] = module
    spec.loader.exec_module(module)
    return module


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
