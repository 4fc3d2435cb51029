"""TFMA's metrics_for_slice_pb2, loaded without importing the tensorflow_model_analysis package.

Relies on TFMA 0.47.1's installed layout: the generated module
tensorflow_model_analysis/proto/metrics_for_slice_pb2.py, which imports only protobuf (its
descriptor file depends on no other TFMA proto). Importing it the normal way runs
tensorflow_model_analysis/__init__, which imports TensorFlow and Beam (seconds). So the file is
loaded under a private module name; if the real TFMA is already imported, its module is used
instead, because registering the same descriptor file twice in one pool is an error.
"""
import importlib.util
import sys
from types import ModuleType

_TFMA_PROTO = "tensorflow_model_analysis.proto.metrics_for_slice_pb2"
_PRIVATE_NAME = "_artifacts_tfma_metrics_for_slice_pb2"


def tfma_proto_path() -> str:
    """The file of TFMA's metrics_for_slice_pb2."""
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
    spec = importlib.util.spec_from_file_location(_PRIVATE_NAME, tfma_proto_path())
    module = importlib.util.module_from_spec(spec)
    sys.modules[_PRIVATE_NAME] = module
    spec.loader.exec_module(module)
    return module
