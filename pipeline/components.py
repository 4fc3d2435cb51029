"""Custom components: the anomaly gate and a content-fingerprinted curated-schema importer."""
import json
import os

from tfx import v1 as tfx
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import base_component
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.component_spec import ExecutionParameter
from tfx.types.standard_component_specs import ImportSchemaGenSpec

from artifacts.anomalies import describe_anomalies
from pipeline.contract import ANOMALIES_FILE, GATE_VERDICT_FILE, GATE_VERDICT_TYPE, SPLIT_PREFIX
from pipeline.fingerprints import sha256_file


class DataGateVerdict(tfx.dsl.Artifact):
    """Record that a set of example anomalies was checked and found clean."""
    # KFP v2 containers re-import a custom artifact class from its type name, which must read
    # "<module>.<Class>" with one dot; pipeline/__init__.py re-exports the class.
    TYPE_NAME = GATE_VERDICT_TYPE


class AnomaliesFound(RuntimeError):
    """Raised by the gate; the message lists every anomalous feature and why."""


def read_anomalies(anomalies: tfx.dsl.Artifact):
    """{split name: tensorflow_metadata Anomalies proto} for an ExampleAnomalies artifact.

    Read through TFX's fileio (the gate runs inside TFX, where the artifact may be remote);
    artifacts.anomalies describes the result."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2
    result = {}
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(anomalies.uri, f"{SPLIT_PREFIX}{split}", ANOMALIES_FILE)
        with fileio.open(path, "rb") as f:
            result[split] = anomalies_pb2.Anomalies.FromString(f.read())
    return result


@tfx.dsl.components.component
def AnomalyGate(
    anomalies: tfx.dsl.components.InputArtifact[standard_artifacts.ExampleAnomalies],
    verdict: tfx.dsl.components.OutputArtifact[DataGateVerdict],
) -> None:
    """Fails the run when ExampleValidator found anomalies, so nothing downstream executes."""
    problems = describe_anomalies(read_anomalies(anomalies))
    if problems:
        raise AnomaliesFound(
            f"data validation found {len(problems)} anomal{'y' if len(problems) == 1 else 'ies'} "
            f"in {anomalies.uri}; Transform, Tuner and Trainer will not run:\n  - "
            + "\n  - ".join(problems))
    # KFP's container entrypoint does not create output folders.
    fileio.makedirs(verdict.uri)
    with fileio.open(os.path.join(verdict.uri, GATE_VERDICT_FILE), "w") as f:
        f.write(json.dumps({"anomalies_uri": anomalies.uri, "anomalies": []}))
    verdict.set_int_custom_property("passed", 1)


class _FingerprintedImportSchemaGenSpec(ImportSchemaGenSpec):
    PARAMETERS = {**ImportSchemaGenSpec.PARAMETERS,
                  "schema_sha256": ExecutionParameter(type=str)}


class CuratedSchemaGen(ImportSchemaGen):
    """ImportSchemaGen whose cache key includes the schema file's sha256.

    Plain ImportSchemaGen keys its cache on the file path only, so an edited curated schema
    would be silently ignored on the next cached run.
    """
    SPEC_CLASS = _FingerprintedImportSchemaGenSpec

    def __init__(self, schema_file: str):
        if not os.path.isfile(schema_file):
            raise FileNotFoundError(f"curated schema file not found: {schema_file}")
        spec = _FingerprintedImportSchemaGenSpec(
            schema_file=schema_file,
            schema_sha256=sha256_file(schema_file),
            schema=tfx.dsl.Channel(type=standard_artifacts.Schema),
        )
        base_component.BaseComponent.__init__(self, spec=spec)
