"""End-to-end: the compiled Kubeflow v2 package's own container commands, run here without a cluster.

The test plays the part of the KFP backend (the KFP target: Vertex adds the latest-blessed-model
resolver, which queries Vertex's metadata service and cannot run here): it walks the compiled
tasks in dependency order, builds each task's ExecutorInput (parameters from the spec, input
artifacts from the upstream tasks' executor outputs, output artifacts under tmp_path), evaluates
the task's trigger condition as the backend would, runs the task's pre-cache-check driver where
the spec has one and then its container command and args exactly as compiled, with `{{$}}`
substituted and the leading `python` replaced by this interpreter.

Every task runs, Tuner, Trainer, Evaluator and Pusher included, and the model is blessed and
pushed. Then the package compiled with threshold 0.9999 runs its Evaluator on the same upstream
outputs: the blessing is 0, the condition is false and Pusher does not run.
"""
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tabflow.config import PipelineConfig
from runners.kubeflow_v2 import pipeline_tasks

pytestmark = pytest.mark.e2e

EXECUTED = ("RunProvenance", "ImportSchemaGen", "CsvCheck", "CsvExampleGen", "StatisticsGen",
            "SchemaGen", "ExampleValidator", "AnomalyGate", "DriftGate", "Transform", "Tuner",
            "Trainer", "Evaluator", "Pusher")
INVOCATION_PLACEHOLDER = "{{$}}"
# The one shape of trigger condition TFX's compiler writes for a Cond on an artifact property.
_CLAUSE = re.compile(r"^\(?inputs\.artifacts\['([^']+)'\]\.artifacts\[(\d+)\]\.metadata"
                     r"\['([^']+)'\] == ([-\d.]+)\)?$")


def _levels(tasks, names):
    """Topological levels: every task's dependencies are in earlier levels."""
    levels, done = [], set()
    while len(done) < len(names):
        ready = sorted(n for n in names if n not in done
                       and set(tasks[n].get("dependentTasks", [])) <= done)
        assert ready, f"cycle or missing dependency among {set(names) - done}"
        levels.append(ready)
        done.update(ready)
    return levels


def _command_line(container_or_hook, executor_input_json):
    """The spec's command + args, placeholders substituted, `python` meaning this interpreter."""
    command = list(container_or_hook["command"])
    assert command[0] in ("python", "python3"), command
    argv = [sys.executable] + command[1:] + [
        executor_input_json if arg == INVOCATION_PLACEHOLDER else arg
        for arg in container_or_hook["args"]]
    assert not any("{{" in a for a in argv[1:] if a != executor_input_json), argv
    return argv


def _run(argv, log: Path, what: str):
    with open(log, "w") as out:
        completed = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
    assert completed.returncode == 0, f"{what} failed; last log lines:\n" + \
        "\n".join(log.read_text().splitlines()[-30:])


class LocalBackend:
    """Builds ExecutorInputs and runs containers; keeps every task's ExecutorOutput."""

    def __init__(self, spec, root: Path, attempt: str = "blessed", outputs=None):
        self.spec = spec
        self.root = root
        self.attempt = attempt
        self.outputs = dict(outputs or {})  # task -> ExecutorOutput
        self.driver_outputs = {}  # task -> the pre-cache-check driver's ExecutorOutput
        self.skipped = []  # tasks whose trigger condition was false

    def executor_input(self, name):
        from google.protobuf import json_format
        from kfp.pipeline_spec import pipeline_spec_pb2
        task = pipeline_tasks(self.spec)[name]
        component = self.spec["components"][task["componentRef"]["name"]]
        executor_input = pipeline_spec_pb2.ExecutorInput()
        # Schema 2.0.0 specs carry typed constants; the entrypoint reads them from `parameters`.
        for key, value in task.get("inputs", {}).get("parameters", {}).items():
            json_format.ParseDict(value["runtimeValue"]["constantValue"],
                                  executor_input.inputs.parameters[key])
        input_types = component.get("inputDefinitions", {}).get("artifacts", {})
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]
            produced = self.outputs[producer["producerTask"]].artifacts[
                producer["outputArtifactKey"]]
            target = executor_input.inputs.artifacts[key]
            for artifact in produced.artifacts:
                runtime = target.artifacts.add()
                runtime.CopyFrom(artifact)
                json_format.ParseDict(input_types[key]["artifactType"], runtime.type)
        task_dir = self.root / "tasks" / self.attempt / name
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            runtime = executor_input.outputs.artifacts[key].artifacts.add()
            runtime.name = f"local/{name}/{key}"
            runtime.uri = str(self.root / "pipeline_root" / self.attempt / name / key)
            # The entrypoint creates no output folders. TFX's executors make their own; the
            # AnomalyGate writes into its folder as is, which works on gs:// (no folders there),
            # so here the folders exist up front, as an object store would behave.
            Path(runtime.uri).mkdir(parents=True)
            json_format.ParseDict(definition["artifactType"], runtime.type)
        executor_input.outputs.output_file = str(task_dir / "executor_output.json")
        task_dir.mkdir(parents=True)
        return executor_input

    def condition_holds(self, name) -> bool:
        """The task's trigger condition on its input artifacts' metadata, as the backend
        evaluates it; a shape this evaluator does not know is an error, not a guess."""
        from google.protobuf import json_format
        task = pipeline_tasks(self.spec)[name]
        condition = task.get("triggerPolicy", {}).get("condition")
        if not condition:
            return True
        inputs = task.get("inputs", {}).get("artifacts", {})
        for clause in condition.split(" && "):
            match = _CLAUSE.match(clause.strip())
            assert match, f"{name}: condition this backend cannot evaluate: {clause}"
            key, index, field, value = match.groups()
            assert key in inputs, f"{name}: its condition reads {key}, not one of its inputs"
            producer = inputs[key]["taskOutputArtifact"]
            artifact = self.outputs[producer["producerTask"]].artifacts[
                producer["outputArtifactKey"]].artifacts[int(index)]
            if json_format.MessageToDict(artifact.metadata).get(field) != float(value):
                return False
        return True

    def run_task(self, name):
        from google.protobuf import json_format
        if not self.condition_holds(name):
            self.skipped.append(name)
            return
        task = pipeline_tasks(self.spec)[name]
        component = self.spec["components"][task["componentRef"]["name"]]
        container = self.spec["deploymentSpec"]["executors"][component["executorLabel"]][
            "container"]
        executor_input = self.executor_input(name)
        invocation = json_format.MessageToJson(executor_input)
        task_dir = Path(executor_input.outputs.output_file).parent
        pre_cache_check = container.get("lifecycle", {}).get("preCacheCheck")
        if pre_cache_check:
            # The driver writes its ExecutorOutput to output_file.
            _run(_command_line(pre_cache_check, invocation), task_dir / "driver.log",
                 f"{name} driver")
            self.driver_outputs[name] = self._read_output(executor_input)
            # As the platform does: the driver's output parameters (the resolved span, the
            # input_config with {SPAN} filled in, the input fingerprint) replace the task's
            # input parameters before the executor starts. A schema 2.0.0 executor without an
            # inputs spec reads the legacy `parameters` map, so both maps are updated.
            for key, value in self.driver_outputs[name].parameter_values.items():
                executor_input.inputs.parameter_values[key].CopyFrom(value)
                legacy = executor_input.inputs.parameters[key]
                if value.WhichOneof("kind") == "number_value":
                    legacy.int_value = int(value.number_value)
                else:
                    legacy.string_value = value.string_value
            invocation = json_format.MessageToJson(executor_input)
        _run(_command_line(container, invocation), task_dir / "executor.log", name)
        self.outputs[name] = self._read_output(executor_input)

    @staticmethod
    def _read_output(executor_input):
        from google.protobuf import json_format
        from kfp.pipeline_spec import pipeline_spec_pb2
        return json_format.Parse(Path(executor_input.outputs.output_file).read_text(),
                                 pipeline_spec_pb2.ExecutorOutput())


def _compile(config):
    from runners import kubeflow_v2
    package = kubeflow_v2.compile_pipeline(config, "kfp", allow_local_root=True)
    with open(package.pipeline_job_json) as f:
        return json.load(f)["pipelineSpec"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from runners import kubeflow_v2
    from tests.support.pipeline_runs import SMALL
    root = tmp_path_factory.mktemp("kfp_local")
    config = PipelineConfig.from_flat(output_root=str(root / "out"), **SMALL)
    spec = _compile(config)
    tasks = kubeflow_v2.pipeline_tasks(spec)
    assert set(tasks) == set(EXECUTED)
    backend = LocalBackend(spec, root)
    levels = _levels(tasks, EXECUTED)
    # Tasks of one level are independent, as on a cluster: run them side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for level in levels:
            list(pool.map(backend.run_task, level))
    return config, backend, levels


@pytest.fixture(scope="module")
def unblessed(executed):
    """The package compiled with threshold 0.9999: its Evaluator on the blessed run's upstream
    outputs, then Pusher's condition."""
    config, backend, _ = executed
    strict = config.replace(threshold=0.9999)
    spec = _compile(strict)
    upstream = {name: out for name, out in backend.outputs.items()
                if name not in ("Evaluator", "Pusher")}
    again = LocalBackend(spec, backend.root, attempt="unblessed", outputs=upstream)
    again.run_task("Evaluator")
    again.run_task("Pusher")
    return strict, again


def _single(backend, task, key):
    artifacts = backend.outputs[task].artifacts[key].artifacts
    assert len(artifacts) == 1, (task, key)
    return artifacts[0]


def _count_records(split_dir: Path) -> int:
    import tensorflow as tf
    files = [str(p) for p in split_dir.glob("*.gz")]
    assert files, f"no examples in {split_dir}"
    return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def test_compiled_tasks_execute_locally_without_cluster(executed):
    _, backend, levels = executed
    assert levels == [["ImportSchemaGen", "RunProvenance"], ["CsvCheck"], ["CsvExampleGen"],
                      ["StatisticsGen"], ["ExampleValidator", "SchemaGen"], ["AnomalyGate"],
                      ["DriftGate"], ["Transform"], ["Tuner"], ["Trainer"], ["Evaluator"],
                      ["Pusher"]]
    assert set(backend.outputs) == set(EXECUTED) and backend.skipped == []


def test_example_gen_driver_and_executor_split_every_csv_row(executed):
    config, backend, _ = executed
    # The driver computes span and input fingerprint, the backend's cache key for ExampleGen.
    driver = backend.driver_outputs["CsvExampleGen"]
    latest = max(int(p.name.split("-")[1]) for p in Path(config.data.data_root).glob("span-*"))
    assert driver.parameter_values["span"].number_value == latest
    assert "num_files:1" in driver.parameter_values["input_fingerprint"].string_value
    examples = _single(backend, "CsvExampleGen", "examples")
    assert driver.artifacts["examples"].artifacts[0].uri == examples.uri
    assert json.loads(examples.metadata["split_names"]) == ["train", "eval", "test"]
    uri = Path(examples.uri)
    counts = {split: _count_records(uri / f"Split-{split}")
              for split in ("train", "eval", "test")}
    with open(Path(config.data.data_root) / f"span-{latest}" / "data.csv") as f:
        rows = sum(1 for _ in f) - 1
    assert counts["train"] + counts["eval"] + counts["test"] == rows
    assert counts["train"] > counts["eval"] > 0 and counts["train"] > counts["test"] > 0  # 3:1:1


def test_statistics_schemas_anomalies_and_gate_verdict(executed):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2
    config, backend, _ = executed
    stats = Path(_single(backend, "StatisticsGen", "statistics").uri)
    for split in ("train", "eval", "test"):
        assert (stats / f"Split-{split}" / "FeatureStats.pb").stat().st_size > 0
    inferred = Path(_single(backend, "SchemaGen", "schema").uri) / "schema.pbtxt"
    assert text_format.Parse(inferred.read_text(), schema_pb2.Schema()).feature
    curated = Path(_single(backend, "ImportSchemaGen", "schema").uri) / "schema.pbtxt"
    assert text_format.Parse(curated.read_text(), schema_pb2.Schema()) == \
        text_format.Parse(Path(config.data.schema_path).read_text(), schema_pb2.Schema())
    anomalies = Path(_single(backend, "ExampleValidator", "anomalies").uri)
    for split in ("train", "eval", "test"):
        proto = anomalies_pb2.Anomalies.FromString(
            (anomalies / f"Split-{split}" / "SchemaDiff.pb").read_bytes())
        assert not proto.anomaly_info, f"{split}: {list(proto.anomaly_info)}"
    verdict = _single(backend, "AnomalyGate", "verdict")
    assert verdict.metadata["passed"] == 1
    assert json.loads((Path(verdict.uri) / "verdict.json").read_text())["anomalies"] == []


def test_transform_writes_the_graph_and_no_examples(executed):
    _, backend, _ = executed
    graph = Path(_single(backend, "Transform", "transform_graph").uri)
    assert (graph / "transform_fn" / "saved_model.pb").is_file()
    assert (graph / "transformed_metadata" / "schema.pbtxt").is_file()
    # Training reads the raw splits through the graph: Transform materialises no split.
    assert set(backend.outputs["Transform"].artifacts) == {"transform_graph"}


def test_provenance_task_records_code_and_runner(executed):
    _, backend, _ = executed
    record = json.loads(Path(_single(backend, "RunProvenance", "provenance").uri,
                             "provenance.json").read_text())
    assert record["runner"] == "kfp"
    assert "modules/trainer.py" in record["files"] and "data/taxi/schema.pbtxt" in record["files"]


def test_tuner_and_trainer_write_hyperparameters_and_a_serving_model(executed):
    _, backend, _ = executed
    hyperparameters = Path(_single(backend, "Tuner", "best_hyperparameters").uri)
    assert json.loads((hyperparameters / "best_hyperparameters.txt").read_text())["values"]
    model = Path(_single(backend, "Trainer", "model").uri)
    assert (model / "Format-Serving" / "saved_model.pb").is_file()


def test_the_blessed_model_is_pushed(executed):
    config, backend, _ = executed
    blessing = _single(backend, "Evaluator", "blessing")
    assert blessing.metadata["blessed"] == 1
    assert (Path(blessing.uri) / "BLESSED").is_file()
    pushed = _single(backend, "Pusher", "pushed_model")
    assert pushed.metadata["pushed"] == 1
    destination = Path(pushed.metadata["pushed_destination"])
    assert destination.parent == Path(config.serving_dir)
    assert (destination / "saved_model.pb").is_file()


def test_an_unblessed_model_does_not_reach_the_pusher(executed, unblessed):
    config, again = unblessed
    blessing = _single(again, "Evaluator", "blessing")
    assert blessing.metadata["blessed"] == 0
    assert (Path(blessing.uri) / "NOT_BLESSED").is_file()
    assert again.skipped == ["Pusher"] and "Pusher" not in again.outputs
    # Only the blessed run's version is in the serving folder.
    assert len([p for p in Path(config.serving_dir).iterdir() if p.name.isdigit()]) == 1
