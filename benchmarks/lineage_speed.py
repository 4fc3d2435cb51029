"""Lineage query speed on a synthetic MLMD store of many pipeline runs shaped like real ones.

Builds a store (SQLite in a temp folder, or with --mysql a throwaway MariaDB from
tests/support/mariadb.py) holding N runs of the taxi pipeline as LocalDagRunner records them: the same
artifact, execution and context types, `pipeline` / `pipeline_run` / `node` / `execution_cache`
contexts, COMPLETE and CACHED executions, events with path keys and the custom properties the
lineage code reads (span on Examples, blessed on ModelBlessing, pushed / pushed_destination on
PushedModel, RunProvenance fields). Runs are a seeded mix of fresh runs on a new span (blessed
and pushed), fully cached repeats, unblessed runs and runs stopped by the AnomalyGate.
Artifact folders do not exist: file-backed parts of the answers (statistics, metrics,
hyperparameters) come back empty.

Then it times `trace` and `impact` in-process (p50 / p90 / max over random targets) and every
read command of the console as a whole `taxi-pipeline ...` process (lineage runs, runs --all,
trace, impact, diff, graph, models, models --history, report; p50 / p90 / max of several
repetitions), prints a table and writes JSON (default outputs/benchmark/lineage-<timestamp>.json).
Figures are measured, not judged; the targets are in-process p50 < 100 ms and a whole command
< 1 s.

    .venv/bin/python benchmarks/lineage_speed.py [--runs 1000] [--mysql] [--targets 50]
        [--command-reps 5] [--seed 0] [--keep DIR | --store DIR] [--only COMMAND ...]
        [--no-in-process] [--no-bytecode-cache] [--json PATH]
"""
import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from ml_metadata import metadata_store  # noqa: E402
from ml_metadata.proto import metadata_store_pb2 as pb  # noqa: E402

PIPELINE = "taxi"
# The results benchmarks/README.md quotes, kept beside it (benchmarks/readme_tables.py).
REGION = "lineage_speed"
RESULTS_FILE = PROJECT_ROOT / "benchmarks" / "results" / f"{REGION}.json"
INT, STRING = pb.INT, pb.STRING
_Base = pb.ArtifactType.SystemDefinedBaseType
# name: (declared properties, base type), as TFX 1.16 registers them.
ARTIFACT_TYPES = {
    "Examples": ({"span": INT, "split_names": STRING, "version": INT}, _Base.DATASET),
    "Schema": ({}, None),
    "pipeline.RunProvenance": ({}, None),
    "ExampleStatistics": ({"span": INT, "split_names": STRING}, _Base.STATISTICS),
    "ExampleAnomalies": ({"span": INT, "split_names": STRING}, None),
    "pipeline.DataGateVerdict": ({}, None),
    "TransformGraph": ({}, None),
    "TransformCache": ({}, None),
    "TunerResults": ({}, None),
    "HyperParameters": ({}, None),
    "Model": ({}, _Base.MODEL),
    "ModelRun": ({}, None),
    "ModelEvaluation": ({}, None),
    "ModelBlessing": ({}, None),
    "PushedModel": ({}, _Base.MODEL),
}
RESOLVER = "latest_blessed_model_resolver"
# node id: execution type, in the order a run records them.
NODES = {
    "CsvExampleGen": "tfx.components.example_gen.csv_example_gen.component.CsvExampleGen",
    "ImportSchemaGen": "pipeline.components.CuratedSchemaGen",
    "RunProvenance": "pipeline.provenance.RunProvenance",
    RESOLVER: "tfx.dsl.components.common.resolver.Resolver",
    "StatisticsGen": "tfx.components.statistics_gen.component.StatisticsGen",
    "ExampleValidator": "tfx.components.example_validator.component.ExampleValidator",
    "SchemaGen": "tfx.components.schema_gen.component.SchemaGen",
    "AnomalyGate": "pipeline.components.AnomalyGate",
    "Transform": "tfx.components.transform.component.Transform",
    "Tuner": "tfx.components.tuner.component.Tuner",
    "Trainer": "tfx.components.trainer.component.Trainer",
    "Evaluator": "tfx.components.evaluator.component.Evaluator",
    "Pusher": "tfx.components.pusher.component.Pusher",
}
CONTEXT_TYPES = ("pipeline", "pipeline_run", "node", "execution_cache")
# Share of runs per kind (the first run is always fresh).
RUN_KINDS = {"fresh": 0.5, "cached": 0.3, "unblessed": 0.1, "gate_stopped": 0.1}
PROVENANCE_CHANGE_RATE = 0.05  # runs whose code changed: RunProvenance executes afresh
RUNS_PER_BATCH = 25


def _value(v) -> pb.Value:
    out = pb.Value()
    if isinstance(v, bool) or isinstance(v, int):
        out.int_value = int(v)
    elif isinstance(v, float):
        out.double_value = v
    elif isinstance(v, dict):
        out.struct_value.update(v)
    else:
        out.string_value = str(v)
    return out


def _sha(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class Ref:
    """A node written in a later batch: its MLMD id once the batch is flushed."""
    __slots__ = ("id",)

    def __init__(self):
        self.id: Optional[int] = None


@dataclass
class Step:
    """One execution of a run: its node, state and input / output artifacts by key."""
    node: str
    state: int
    inputs: List[Tuple[List, Ref]] = field(default_factory=list)   # (path steps, artifact)
    outputs: List[Tuple[List, Ref, int]] = field(default_factory=list)  # (path, artifact, type)
    cache: Optional[Ref] = None
    properties: Dict[str, object] = field(default_factory=dict)


class StoreBuilder:
    """Writes runs in batches: a handful of MLMD calls per RUNS_PER_BATCH runs."""

    def __init__(self, store, root: str):
        self.store, self.root = store, root
        self.artifact_types = {}
        for name, (props, base) in ARTIFACT_TYPES.items():
            t = pb.ArtifactType(name=name)
            for key, kind in props.items():
                t.properties[key] = kind
            if base is not None:
                t.base_type = base
            self.artifact_types[name] = store.put_artifact_type(t)
        self.execution_types = {node: store.put_execution_type(pb.ExecutionType(name=name))
                                for node, name in NODES.items()}
        self.context_types = {name: store.put_context_type(pb.ContextType(name=name))
                              for name in CONTEXT_TYPES}
        ids = store.put_contexts(
            [pb.Context(type_id=self.context_types["pipeline"], name=PIPELINE)]
            + [pb.Context(type_id=self.context_types["node"], name=f"{PIPELINE}.{node}")
               for node in NODES])
        self.pipeline_context, self.node_contexts = ids[0], dict(zip(NODES, ids[1:]))
        self.attributed = set()  # (artifact id, context id) already written
        self.uri_counter = 0
        self._reset()

    def _reset(self):
        self.contexts: List[Tuple[pb.Context, Ref]] = []
        self.artifacts: List[Tuple[pb.Artifact, Ref]] = []
        self.late_artifacts: List[Tuple[pb.Artifact, Ref, Dict[str, Ref]]] = []
        self.runs: List[Tuple[Ref, List[Step]]] = []

    def context(self, type_name: str, name: str) -> Ref:
        ref = Ref()
        self.contexts.append((pb.Context(type_id=self.context_types[type_name], name=name), ref))
        return ref

    def artifact(self, type_name: str, node: str, key: str, properties=None,
                 custom=None, id_properties: Optional[Dict[str, Ref]] = None) -> Ref:
        """A new LIVE artifact; id_properties are custom int properties holding other ids."""
        self.uri_counter += 1
        a = pb.Artifact(type_id=self.artifact_types[type_name], state=pb.Artifact.LIVE,
                        uri=f"{self.root}/pipeline_root/{PIPELINE}/{node}/{key}/"
                            f"{self.uri_counter}")
        for k, v in (properties or {}).items():
            a.properties[k].CopyFrom(_value(v))
        for k, v in {"tfx_version": "1.16.0", "is_external": 0, **(custom or {})}.items():
            a.custom_properties[k].CopyFrom(_value(v))
        ref = Ref()
        if id_properties:
            self.late_artifacts.append((a, ref, id_properties))
        else:
            self.artifacts.append((a, ref))
        return ref

    def add_run(self, run_id: str, steps: List[Step]) -> None:
        self.runs.append((self.context("pipeline_run", run_id), steps))

    def flush(self) -> None:
        s = self.store
        for ref, new_id in zip([r for _, r in self.contexts],
                               s.put_contexts([c for c, _ in self.contexts])):
            ref.id = new_id
        for ref, new_id in zip([r for _, r in self.artifacts],
                               s.put_artifacts([a for a, _ in self.artifacts])):
            ref.id = new_id
        # Blessings name their models by id: written once the models have ids.
        for artifact, _, id_props in self.late_artifacts:
            for k, ref in id_props.items():
                artifact.custom_properties[k].int_value = ref.id
        for ref, new_id in zip([r for _, r, _ in self.late_artifacts],
                               s.put_artifacts([a for a, _, _ in self.late_artifacts])):
            ref.id = new_id
        s.put_parent_contexts([pb.ParentContext(child_id=run.id, parent_id=self.pipeline_context)
                               for run, _ in self.runs])
        executions, owners = [], []
        for run, steps in self.runs:
            for step in steps:
                e = pb.Execution(type_id=self.execution_types[step.node],
                                 last_known_state=step.state, name=_sha(run.id, step.node)[:36])
                for k, v in step.properties.items():
                    e.custom_properties[k].CopyFrom(_value(v))
                executions.append(e)
                owners.append((run, step))
        execution_ids = s.put_executions(executions)
        events, attributions, associations = [], [], []
        millis = int(time.time() * 1000)
        for execution_id, (run, step) in zip(execution_ids, owners):
            contexts = [self.pipeline_context, run.id, self.node_contexts[step.node]]
            if step.cache is not None:
                contexts.append(step.cache.id)
            associations += [pb.Association(execution_id=execution_id, context_id=c)
                             for c in contexts]
            edges = [(path, ref, pb.Event.INPUT) for path, ref in step.inputs]
            edges += step.outputs
            for path, ref, kind in edges:
                event = pb.Event(artifact_id=ref.id, execution_id=execution_id, type=kind,
                                 milliseconds_since_epoch=millis)
                for part in path:
                    if isinstance(part, str):
                        event.path.steps.add().key = part
                    else:
                        event.path.steps.add().index = part
                events.append(event)
                for c in contexts:
                    if (ref.id, c) not in self.attributed:
                        self.attributed.add((ref.id, c))
                        attributions.append(pb.Attribution(artifact_id=ref.id, context_id=c))
        s.put_events(events)
        s.put_attributions_and_associations(attributions, associations)
        self._reset()


@dataclass
class History:
    """What earlier runs left for later ones: the cache, the last blessing, the span."""
    span: int = 0
    schema: Optional[Step] = None
    provenance: Optional[Step] = None
    last_full_run: Optional[List[Step]] = None
    blessed_model: Optional[Ref] = None
    blessed_blessing: Optional[Ref] = None


def _cached(step: Step) -> Step:
    """The CACHED repeat of an execution: the same edges, the same cache context."""
    return Step(step.node, pb.Execution.CACHED, list(step.inputs), list(step.outputs),
                step.cache, dict(step.properties))


def _out(path_key: str, ref: Ref, kind=pb.Event.OUTPUT):
    return ([path_key, 0], ref, kind)


class RunFactory:
    def __init__(self, b: StoreBuilder, rng: random.Random):
        self.b, self.rng, self.h = b, rng, History()

    def _complete(self, node: str, **properties) -> Step:
        cache = self.b.context("execution_cache", _sha(node, self.b.uri_counter, self.rng.random()))
        return Step(node, pb.Execution.COMPLETE, cache=cache, properties=properties)

    def _schema(self) -> Step:
        if self.h.schema is None:
            step = self._complete("ImportSchemaGen", schema_file=str(
                PROJECT_ROOT / "data" / "taxi" / "schema.pbtxt"), schema_sha256=_sha("schema"))
            step.outputs.append(_out("schema", self.b.artifact("Schema", "ImportSchemaGen",
                                                                 "schema")))
            self.h.schema = step
            return step
        return _cached(self.h.schema)

    def _provenance(self, run_id: str) -> Step:
        if self.h.provenance is None or self.rng.random() < PROVENANCE_CHANGE_RATE:
            fields = {"git_commit": _sha("commit", run_id)[:40], "git_dirty": 0,
                      "runner": "local", "code_sha256": _sha("code", run_id),
                      "file_sha256_json": json.dumps({"modules/trainer.py": _sha(run_id)}),
                      "config_json": json.dumps({"pipeline_name": PIPELINE})}
            step = self._complete("RunProvenance", **fields)
            step.outputs.append(_out("provenance", self.b.artifact(
                "pipeline.RunProvenance", "RunProvenance", "provenance", custom=fields)))
            self.h.provenance = step
            return step
        return _cached(self.h.provenance)

    def _resolver(self) -> Step:
        step = Step(RESOLVER, pb.Execution.COMPLETE)
        if self.h.blessed_model is not None:
            step.outputs += [_out("model", self.h.blessed_model, pb.Event.INTERNAL_OUTPUT),
                             _out("model_blessing", self.h.blessed_blessing,
                                  pb.Event.INTERNAL_OUTPUT)]
        return step

    def _data(self, span: int, gate_passes: bool) -> Tuple[List[Step], Ref]:
        """ExampleGen, StatisticsGen, ExampleValidator, SchemaGen and the AnomalyGate."""
        b, schema = self.b, self.h.schema.outputs[0][1]
        fingerprint = (f"split:single_split,num_files:1,total_bytes:{self.rng.randint(10**5, 10**6)},"
                       f"xor_checksum:{self.rng.randint(0, 2**31)},sum_checksum:{span}")
        examples = b.artifact("Examples", "CsvExampleGen", "examples",
                              properties={"split_names": '["train", "eval"]'},
                              custom={"span": span, "input_fingerprint": fingerprint,
                                      "file_format": "tfrecords_gzip",
                                      "payload_format": "FORMAT_TF_EXAMPLE"})
        example_gen = self._complete("CsvExampleGen", span=span, input_fingerprint=fingerprint,
                                     input_base=str(PROJECT_ROOT / "data" / "taxi" / "spans"))
        example_gen.outputs.append(_out("examples", examples))
        stats = b.artifact("ExampleStatistics", "StatisticsGen", "statistics",
                           properties={"span": 0, "split_names": '["train", "eval"]'})
        statistics_gen = self._complete("StatisticsGen", exclude_splits="[]")
        statistics_gen.inputs.append((["examples", 0], examples))
        statistics_gen.outputs.append(_out("statistics", stats))
        clean = 1 if gate_passes else 0
        anomalies = b.artifact("ExampleAnomalies", "ExampleValidator", "anomalies",
                               properties={"span": 0, "split_names": '["train", "eval"]'},
                               custom={"blessed": {"train": clean, "eval": clean}})
        validator = self._complete("ExampleValidator", exclude_splits="[]")
        validator.inputs += [(["schema", 0], schema), (["statistics", 0], stats)]
        validator.outputs.append(_out("anomalies", anomalies))
        schema_gen = self._complete("SchemaGen", exclude_splits="[]", infer_feature_shape=1)
        schema_gen.inputs.append((["statistics", 0], stats))
        schema_gen.outputs.append(_out("schema", b.artifact("Schema", "SchemaGen", "schema")))
        gate = self._complete("AnomalyGate")
        gate.inputs.append((["anomalies", 0], anomalies))
        if gate_passes:
            gate.outputs.append(_out("verdict", b.artifact(
                "pipeline.DataGateVerdict", "AnomalyGate", "verdict", custom={"passed": 1})))
        else:
            gate.state = pb.Execution.FAILED
        return [example_gen, statistics_gen, validator, schema_gen, gate], examples

    def _model(self, examples: Ref, blessed: bool) -> List[Step]:
        """Transform, Tuner, Trainer, Evaluator and (when blessed) Pusher."""
        b, schema = self.b, self.h.schema.outputs[0][1]
        graph = b.artifact("TransformGraph", "Transform", "transform_graph")
        transform = self._complete("Transform", preprocessing_fn="modules.transform.preprocessing_fn",
                                   custom_config=json.dumps({"code_sha256": _sha("code")}),
                                   force_tf_compat_v1=0, disable_statistics=1)
        transform.inputs += [(["examples", 0], examples), (["schema", 0], schema)]
        transform.outputs += [_out("transform_graph", graph)]
        hparams = b.artifact("HyperParameters", "Tuner", "best_hyperparameters")
        tuner = self._complete("Tuner", tuner_fn="modules.tuner.tuner_fn",
                               train_args='{"num_steps": 40}', eval_args='{"num_steps": 10}')
        tuner.inputs += [(["transform_graph", 0], graph), (["schema", 0], schema),
                         (["examples", 0], examples)]
        tuner.outputs += [_out("tuner_results", b.artifact("TunerResults", "Tuner",
                                                            "tuner_results")),
                          _out("best_hyperparameters", hparams)]
        model = b.artifact("Model", "Trainer", "model")
        trainer = self._complete("Trainer", run_fn="modules.trainer.run_fn",
                                 train_args='{"num_steps": 300}', eval_args='{"num_steps": 50}')
        trainer.inputs += [(["transform_graph", 0], graph), (["examples", 0], examples),
                           (["hyperparameters", 0], hparams), (["schema", 0], schema)]
        trainer.outputs += [_out("model", model),
                            _out("model_run", b.artifact("ModelRun", "Trainer", "model_run"))]
        baseline = self.h.blessed_model
        id_props = {"current_model_id": model}
        custom = {"blessed": int(blessed)}
        if baseline is not None:
            id_props["baseline_model_id"] = baseline
        blessing = b.artifact("ModelBlessing", "Evaluator", "blessing", custom=custom,
                              id_properties=id_props)
        evaluator = self._complete("Evaluator", eval_config='{"metrics_specs": []}',
                                   example_splits="null")
        evaluator.inputs += [(["examples", 0], examples), (["model", 0], model)]
        if baseline is not None:
            evaluator.inputs.append((["baseline_model", 0], baseline))
        evaluator.outputs += [_out("evaluation", b.artifact("ModelEvaluation", "Evaluator",
                                                            "evaluation")),
                              _out("blessing", blessing)]
        steps = [transform, tuner, trainer, evaluator]
        if blessed:
            version = str(1_800_000_000 + b.uri_counter)
            pushed = b.artifact("PushedModel", "Pusher", "pushed_model", custom={
                "pushed": 1, "pushed_version": version,
                "pushed_destination": f"{b.root}/serving_model/{PIPELINE}/{version}"})
            pusher = self._complete("Pusher", custom_config="null")
            pusher.inputs += [(["_Evaluator.blessing", 0, "model_blessing", 0], blessing),
                              (["model", 0], model)]
            pusher.outputs.append(_out("pushed_model", pushed))
            steps.append(pusher)
            self.h.blessed_model, self.h.blessed_blessing = model, blessing
        return steps

    def run(self, run_id: str, kind: str) -> List[Step]:
        head = [None, self._schema(), self._provenance(run_id), self._resolver()]
        if kind == "cached":
            body = [_cached(s) for s in self.h.last_full_run]
            return [body[0], *head[1:], *body[1:]]
        if kind == "gate_stopped":  # other data for the current span, which the gate stops
            data, _ = self._data(self.h.span, gate_passes=False)
            return [data[0], *head[1:], *data[1:]]
        self.h.span += 1
        data, examples = self._data(self.h.span, gate_passes=True)
        model = self._model(examples, blessed=(kind == "fresh"))
        if kind == "fresh":
            self.h.last_full_run = data + model
        return [data[0], *head[1:], *data[1:], *model]


def build(store, root: str, runs: int, seed: int) -> Dict[str, object]:
    rng = random.Random(seed)
    builder = StoreBuilder(store, root)
    factory = RunFactory(builder, rng)
    kinds = {k: 0 for k in RUN_KINDS}
    start_time = datetime.datetime(2026, 1, 1)
    started = time.perf_counter()
    for i in range(runs):
        kind = "fresh" if factory.h.last_full_run is None else rng.choices(
            list(RUN_KINDS), weights=list(RUN_KINDS.values()))[0]
        kinds[kind] += 1
        run_id = f"local-{(start_time + datetime.timedelta(hours=6 * i)).isoformat()}"
        builder.add_run(run_id, factory.run(run_id, kind))
        if len(builder.runs) >= RUNS_PER_BATCH:
            builder.flush()
    builder.flush()
    seconds = time.perf_counter() - started
    return {"runs": runs, "kinds": kinds, "build_seconds": round(seconds, 2),
            "spans": factory.h.span}


def store_counts(store) -> Dict[str, int]:
    return {"artifacts": len(store.get_artifacts()), "executions": len(store.get_executions()),
            "contexts": len(store.get_contexts()),
            "events": len(store.get_events_by_execution_ids(
                [e.id for e in store.get_executions()]))}


def _summary(samples_ms: List[float]) -> Dict[str, float]:
    ordered = sorted(samples_ms)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p90_ms": round(p90, 1), "max_ms": round(ordered[-1], 1)}


def time_in_process(store, name: str, call, targets: List[str]) -> Dict[str, object]:
    samples, errors = [], []
    # The first call is a warm-up: first-call costs (imports, caches) are not per query.
    for index, target in enumerate([targets[0], *targets]):
        start = time.perf_counter()
        try:
            call(store, target)
        except Exception:  # report, do not hide: the lineage code must cope with these stores
            errors.append({"target": target, "traceback": traceback.format_exc()})
            continue
        if index:
            samples.append((time.perf_counter() - start) * 1000)
    out = {"kind": f"in-process {name}", **(_summary(samples) if samples else {"n": 0})}
    if errors:
        out["errors"] = errors[:3]
        out["error_count"] = len(errors)
    return out


def command_env(bytecode_cache: Optional[Path]) -> Dict[str, str]:
    """The children's environment. With a bytecode cache folder, Python may write and read
    compiled modules there (PYTHONPYCACHEPREFIX), as any installed environment has them: a
    shell that sets PYTHONDONTWRITEBYTECODE over a venv installed without compiling (uv's
    default) makes every command compile ml_metadata, grpc and protobuf from source, about
    0.6 s that no user's installed environment pays."""
    env = dict(os.environ)
    if bytecode_cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
        # Fill the cache once, untimed: every module the timed commands import.
        subprocess.run([sys.executable, "-c", "import tabflow.console.main, tabflow.lineage.diff, "
                        "tabflow.lineage.impact, tabflow.lineage.render, tabflow.lineage.runs, tabflow.lineage.text, "
                        "tabflow.lineage.trace, tabflow.registry.catalog, tabflow.review.collect, tabflow.review.page"],
                       cwd=PROJECT_ROOT, env=env, check=True)
    return env


def time_command(args: List[str], store_flags: List[str], reps: int,
                 env: Optional[Dict[str, str]] = None, json_flag: bool = True,
                 label: Optional[str] = None) -> Dict[str, object]:
    """A whole `taxi-pipeline ...` process, `reps` times."""
    script = Path(sys.executable).with_name("taxi-pipeline")
    command = [str(script) if script.exists() else "taxi-pipeline", *args,
               *(["--json"] if json_flag else []), *store_flags]
    samples, failure = [], None
    for _ in range(reps):
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env=env)
        elapsed = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            failure = proc.stderr[-3000:]
            break
        samples.append(elapsed)
    # Ids, span numbers and temporary paths vary with the seed and the run: the label keeps
    # the command's shape.
    out = {"kind": label or "command " + " ".join(
               args[:2] + [re.sub(r"\d+$", "<n>", a) if not a.startswith("/") else "<file>"
                           for a in args[2:]]),
           "command": " ".join(command), **(_summary(samples) if samples else {"n": 0})}
    if failure:
        out["error"] = failure
    return out


def measure(store, store_flags: List[str], n_targets: int, reps: int, rng: random.Random,
            output_root: str, env: Optional[Dict[str, str]] = None, in_process: bool = True,
            only: Optional[List[str]] = None) -> List[Dict[str, object]]:
    from tabflow.lineage import impact, trace
    from tabflow.metadata.runs import list_runs
    pushed = [a.id for a in store.get_artifacts_by_type("PushedModel")
              if a.custom_properties["pushed"].int_value == 1]
    models = [a.id for a in store.get_artifacts_by_type("Model")]
    raw_examples = [a.id for a in store.get_artifacts_by_type("Examples")
                    if "span" in a.custom_properties]
    spans = sorted({a.custom_properties["span"].int_value
                    for a in store.get_artifacts_by_type("Examples")
                    if "span" in a.custom_properties})

    def sample(ids):
        return [str(i) for i in rng.sample(ids, min(n_targets, len(ids)))]

    rows = [] if not in_process else [
        time_in_process(store, "trace <pushed model>", trace.trace, sample(pushed)),
        time_in_process(store, "trace <model>", trace.trace, sample(models)),
        time_in_process(store, "trace latest-pushed", trace.trace,
                        ["latest-pushed"] * min(n_targets, 10)),
        time_in_process(store, "impact id:<examples>", impact.impact,
                        ["id:" + i for i in sample(raw_examples)]),
        time_in_process(store, "impact span:<n>", impact.impact,
                        ["span:" + str(s) for s in rng.sample(spans, min(n_targets,
                                                                          len(spans)))]),
        time_in_process(store, "list every run", lambda store_, name: list_runs(store_, name),
                        ["taxi"] * min(n_targets, 5)),
    ]
    # Every read command of the console, as a whole process. models and report get the
    # store's folder as --output-root: the synthetic pushes went to <folder>/serving_model, so
    # the serving folder they read is the one the store names (its version folders do not
    # exist: files show as removed; the report's TFMA/TFDV parts come back empty).
    folder_flags = [*store_flags, f"--output-root={output_root}"]
    report_file = str(Path(output_root) / "report.html")
    commands = [
        (["lineage", "runs"], store_flags, True),
        (["lineage", "runs", "--all"], store_flags, True),
        (["lineage", "trace", rng.choice(sample(pushed))], store_flags, True),
        (["lineage", "trace", "latest-pushed"], store_flags, True),
        (["lineage", "impact", "id:" + rng.choice(sample(raw_examples))], store_flags, True),
        (["lineage", "impact", "span:" + str(rng.choice(spans))], store_flags, True),
        (["lineage", "diff", "previous", "latest"], store_flags, True),
        (["lineage", "graph", "latest"], store_flags, True),
        (["models"], folder_flags, True),
        (["models", "--history"], folder_flags, True),
        (["report", "latest", "--output", report_file], folder_flags, False),
    ]
    for args, flags, json_flag in commands:
        if only and not any(" ".join(args).startswith(o) for o in only):
            continue
        print(f"timing taxi-pipeline {' '.join(args)} ...", flush=True)
        rows.append(time_command(args, flags, reps, env, json_flag))
    return rows


def print_table(info: Dict[str, object], rows: List[Dict[str, object]]) -> None:
    print(f"\nstore: {info['backend']}, {info['runs']} runs {info['kinds']}, "
          f"{info['counts']}; built in {info['build_seconds']} s")
    print(f"{'measurement':<46} {'n':>4} {'p50 ms':>9} {'p90 ms':>9} {'max ms':>9}")
    for row in rows:
        print(f"{row['kind']:<46} {row['n']:>4} {row.get('p50_ms', '-'):>9} "
              f"{row.get('p90_ms', '-'):>9} {row.get('max_ms', '-'):>9}")
        for key in ("error", "errors"):
            if key in row:
                detail = row[key] if key == "error" else row[key][0]["traceback"]
                print(f"    FAILED ({row.get('error_count', 1)}x):\n" + detail)


@contextlib.contextmanager
def open_store(backend: str, folder: Path):
    """(store, taxi-pipeline flags that reach it, description)."""
    if backend == "mysql":
        from tests.support import mariadb
        with mariadb.running(folder / "mariadb") as server:
            from tabflow.metadata.store import open_store
            from tabflow.config import PipelineConfig
            config = PipelineConfig.from_flat(output_root=str(folder), **server.config_fields())
            yield open_store(config.store, readonly=False), server.cli_flags()
        return
    path = folder / "metadata.sqlite"
    cc = pb.ConnectionConfig()
    cc.sqlite.filename_uri = str(path)
    cc.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    yield metadata_store.MetadataStore(cc), [f"--metadata-path={path}"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1000, help="pipeline runs in the store")
    p.add_argument("--mysql", action="store_true",
                   help="a throwaway MariaDB server (needs mariadb-server) instead of SQLite")
    p.add_argument("--targets", type=int, default=50, help="random targets per in-process query")
    p.add_argument("--command-reps", type=int, default=5, help="repetitions per whole command")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", help="build the store in this (new) folder and keep it")
    p.add_argument("--store", metavar="DIR",
                   help="time the SQLite store a --keep run left in DIR instead of building one")
    p.add_argument("--only", nargs="+", metavar="COMMAND",
                   help="time only the commands starting so (e.g. 'lineage runs' models)")
    p.add_argument("--no-in-process", action="store_true", help="skip the in-process timings")
    p.add_argument("--no-bytecode-cache", action="store_true",
                   help="run the commands with the shell's environment as it is (see "
                        "command_env: without a bytecode cache each pays for compiling)")
    p.add_argument("--json", help="results file (default outputs/benchmark/lineage-<time>.json)")
    p.add_argument("--readme", action="store_true",
                   help=f"keep the results as {RESULTS_FILE.relative_to(PROJECT_ROOT)} and write "
                        "benchmarks/README.md's lineage table from them")
    p.add_argument("--check", action="store_true",
                   help="only say whether benchmarks/README.md's lineage table is the kept JSON's")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.check:
        from benchmarks import readme_tables
        return readme_tables.check_region(REGION)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    if args.store and (args.mysql or args.keep):
        raise SystemExit("--store reuses a kept SQLite store: no --mysql or --keep with it")
    folder = Path(args.store or args.keep or tempfile.mkdtemp(prefix="lineage-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    backend = "mysql" if args.mysql else "sqlite"
    cache = None if args.no_bytecode_cache else Path(tempfile.mkdtemp(prefix="lineage-pyc-"))
    env = command_env(cache)
    try:
        with open_store(backend, folder) as (store, flags):
            if args.store:
                info = {"backend": backend, "runs": len(store.get_contexts_by_type(
                    "pipeline_run")), "kinds": "reused", "build_seconds": 0, "reused": str(folder)}
            else:
                print(f"building {args.runs} runs in a {backend} store under {folder} ...",
                      flush=True)
                info = {"backend": backend, **build(store, str(folder), args.runs, args.seed)}
            info["counts"] = store_counts(store)
            print(f"store: {info['counts']}", flush=True)
            rows = measure(store, flags, args.targets, args.command_reps,
                           random.Random(args.seed), str(folder), env,
                           in_process=not args.no_in_process, only=args.only)
    finally:
        if not args.keep and not args.store:
            shutil.rmtree(folder, ignore_errors=True)
        if cache is not None:
            shutil.rmtree(cache, ignore_errors=True)
    print_table(info, rows)
    result = {
        "store": info, "measurements": rows,
        "targets": {"in_process_p50_ms": 100, "command_ms": 1000, "note": "goals, not asserted"},
        "settings": vars(args),
        "bytecode_cache": cache is not None,
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "when": stamp,
        "commit": _commit(),
    }
    out = Path(args.json) if args.json else \
        PROJECT_ROOT / "outputs" / "benchmark" / f"lineage-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults written to {out}")
    if args.readme:
        from benchmarks import readme_tables
        readme_tables.keep_and_write(REGION, out)
    return 0


def _commit() -> Optional[str]:
    from benchmarks import readme_tables
    return readme_tables.commit()


if __name__ == "__main__":
    sys.exit(main())
