"""ImportSchemaGen with two more parameters in its cache key: the schema file's sha256 and the
code's.

Relies on TFX 1.16.0's ImportSchemaGen (tfx/components/schema_gen/import_schema_gen): its spec
class ImportSchemaGenSpec, whose PARAMETERS (`schema_file`) and OUTPUTS (`schema`) a subclass
extends, and its constructor, which only builds that spec and calls BaseComponent.__init__, so
building the extended spec and calling BaseComponent.__init__ directly skips nothing. The
component keeps ImportSchemaGen's executor.
"""
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import base_component
from tfx.types import channel, standard_artifacts
from tfx.types.component_spec import ExecutionParameter
from tfx.types.standard_component_specs import ImportSchemaGenSpec

SCHEMA_SHA256 = "schema_sha256"
CODE_SHA256 = "code_sha256"


class _FingerprintedImportSchemaGenSpec(ImportSchemaGenSpec):
    PARAMETERS = {**ImportSchemaGenSpec.PARAMETERS,
                  SCHEMA_SHA256: ExecutionParameter(type=str),
                  CODE_SHA256: ExecutionParameter(type=str)}


class FingerprintedImportSchemaGen(ImportSchemaGen):
    """ImportSchemaGen whose exec properties (its cache key) also hold `schema_sha256` and
    `code_sha256`. Its MLMD type name is the subclass's own, as for any component."""
    SPEC_CLASS = _FingerprintedImportSchemaGenSpec

    def __init__(self, schema_file: str, schema_sha256: str, code_sha256: str):
        spec = _FingerprintedImportSchemaGenSpec(
            schema_file=schema_file,
            schema_sha256=schema_sha256,
            code_sha256=code_sha256,
            schema=channel.Channel(type=standard_artifacts.Schema),
        )
        base_component.BaseComponent.__init__(self, spec=spec)
