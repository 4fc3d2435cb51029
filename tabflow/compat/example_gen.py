"""A code fingerprint in CsvExampleGen's cache key, through a parameter its constructor lacks.

Relies on TFX 1.16.0's FileBasedExampleGenSpec (tfx/types/standard_component_specs.py), which
CsvExampleGen's spec is: it has an optional `custom_config` parameter (an
example_gen_pb2.CustomConfig) that CsvExampleGen's constructor does not take, and the CSV
executor hands it to its record reader, which ignores it. Set on the constructed component's
exec_properties, it joins the node's cache key. Subclassing CsvExampleGen instead would change
the node's type name in MLMD.
"""
from google.protobuf import any_pb2, wrappers_pb2
from tfx.proto import example_gen_pb2

CUSTOM_CONFIG = "custom_config"


def set_code_fingerprint(example_gen, code_sha256: str) -> None:
    """Puts `code_sha256` into `example_gen`'s (a CsvExampleGen's) cache key."""
    packed = any_pb2.Any()
    packed.Pack(wrappers_pb2.StringValue(value=code_sha256))
    example_gen.exec_properties[CUSTOM_CONFIG] = example_gen_pb2.CustomConfig(
        custom_config=packed)


def use_executor(example_gen, executor_class) -> None:
    """Runs `example_gen` (a CsvExampleGen) with `executor_class`, a subclass of its executor.

    CsvExampleGen's constructor takes no custom executor spec, unlike ExampleGen's base class;
    the spec the compiler reads is the component's `executor_spec` attribute, and its Beam
    arguments still come from the pipeline."""
    from tfx.dsl.components.base import executor_spec
    example_gen.executor_spec = executor_spec.BeamExecutorSpec(executor_class)
