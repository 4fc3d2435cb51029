"""OpenLineage RunEvents for a pipeline run, read from ML Metadata, and their delivery.

The run is a parent job (`<pipeline>`); each of its component executions is a child job
(`<pipeline>.<node id>`) with a START event at the execution's creation and a COMPLETE, FAIL or
ABORT event at its last update (a cached execution completes at once; a running one has only
its START). Datasets are the executions' input and output artifacts, named by URI as
OpenLineage names files: namespace `file` and the absolute path for a local folder, the scheme
and bucket (`gs://bucket`) and the path for object stores.

Facets hold what MLMD and the artifacts hold:
  every dataset   datasetVersion (the MLMD artifact id), tabflow_artifact (type, id, span)
  Examples        schema (the run's curated schema); outputStatistics where written and
                  dataQualityMetrics (rows, per-column nulls, distinct values, min, max) where
                  read, from the run's StatisticsGen
  anomalies       dataQualityAssertions where a gate reads them: one failed assertion per
  drift report    anomaly, per drift measure one assertion (distance against threshold)
  evaluation      tabflow_modelMetrics on the ModelEvaluation and ModelBlessing: overall metrics
  and blessing    of the candidate and the baseline, blessed or not
  PushedModel     tabflow_push (pushed, version, destination)
  every run       parent, processingEngine, tabflow_execution (MLMD id, state, runner); FAIL
                  events carry errorMessage with the gate's reasons or the orchestrator's error

Run ids are deterministic (openlineage's generate_static_uuid over the store's ids), so a run
exported twice sends the same events and a consumer (Marquez, DataHub) updates, not duplicates.
The custom facets' JSON schema is monitoring/openlineage_facets.json.
"""
import datetime
import functools
import json
import logging
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional
from urllib.parse import urlparse

import attr
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet, RunFacet, data_quality_assertions_dataset,
    data_quality_metrics_input_dataset, dataset_version_dataset, error_message_run,
    job_type_job, output_statistics_output_dataset, parent_run, processing_engine_run,
    schema_dataset)
from openlineage.client.generated.base import set_producer
from openlineage.client.serde import Serde
from openlineage.client.uuid import generate_static_uuid

from tabflow.metadata import runs as mruns
from tabflow.metadata.graph import Graph, custom
from tabflow import contract as C
from tabflow import environment
from tabflow.redaction import mask_url, redact_text
from tabflow.metadata import facts

log = logging.getLogger(__name__)

API_KEY = "OPENLINEAGE_API_KEY"
API_KEY_VARIABLE = environment.name(API_KEY)
PRODUCER = "urn:tabflow:openlineage"
FACETS_SCHEMA = Path(__file__).with_name("openlineage_facets.json")
FACETS_SCHEMA_URL = "urn:tabflow:openlineage-facets:1"
INTEGRATION = "TFX"

_END_STATES = {"COMPLETE": RunState.COMPLETE, "CACHED": RunState.COMPLETE,
               "FAILED": RunState.FAIL, "CANCELED": RunState.ABORT}


# --- the project's own facets (schema: openlineage_facets.json) -------------------------------
def _schema_url(name: str) -> str:
    return f"{FACETS_SCHEMA_URL}#/$defs/{name}"


@attr.define
class TabflowExecutionRunFacet(RunFacet):
    """Where the run came from: the MLMD execution, its node, state and the runner."""
    mlmdExecutionId: int  # noqa: N815 - OpenLineage's field names are camelCase
    node: str
    state: str
    runner: str
    pipelineRunId: str  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("TabflowExecutionRunFacet")


@attr.define
class TabflowArtifactDatasetFacet(DatasetFacet):
    """The MLMD artifact behind a dataset."""
    mlmdArtifactId: int  # noqa: N815
    type: str  # noqa: A003
    span: Optional[int] = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("TabflowArtifactDatasetFacet")


@attr.define
class TabflowModelMetricsDatasetFacet(DatasetFacet):
    """The Evaluator's overall metrics of the candidate and the baseline, and its verdict."""
    candidate: Dict[str, float]
    baseline: Dict[str, float]
    blessed: Optional[bool] = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("TabflowModelMetricsDatasetFacet")


@attr.define
class TabflowPushDatasetFacet(DatasetFacet):
    """What the Pusher did with the model."""
    pushed: bool
    version: Optional[str] = attr.field(default=None)
    destination: Optional[str] = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema_url("TabflowPushDatasetFacet")


# --- naming and times --------------------------------------------------------------------------
def dataset_name(uri: str) -> tuple:
    """(namespace, name) of an artifact URI, as OpenLineage names files and object stores."""
    parsed = urlparse(uri)
    if parsed.scheme and parsed.scheme != "file" and len(parsed.scheme) > 1:
        return mask_url(f"{parsed.scheme}://{parsed.netloc}"), parsed.path or "/"
    path = parsed.path if parsed.scheme == "file" else uri
    return "file", os.path.abspath(path)


def _time(millis: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(millis / 1000.0, tz=datetime.timezone.utc)


def _iso(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def run_uuid(pipeline_name: str, run_id: str, started: datetime.datetime,
             execution_id: Optional[int] = None) -> str:
    data = f"{pipeline_name}/{run_id}" + ("" if execution_id is None else f"/{execution_id}")
    return str(generate_static_uuid(started, data.encode()))


# --- what the artifacts say ----------------------------------------------------------------------
class _ArtifactFacts:
    """Facets of each artifact id in one run graph, read once from the artifacts' files."""

    def __init__(self, g: Graph, run_executions: List[int]):
        self.g = g
        self.statistics: Dict[int, dict] = {}   # Examples id -> statistics_summary
        self.schema: Optional[Dict[str, str]] = None
        # An artifact appears in several events (START and end, writer and readers): its
        # files are read once.
        self.common = functools.lru_cache(maxsize=None)(self._common)
        self.assertions = functools.lru_cache(maxsize=None)(self._assertions)
        for execution_id in run_executions:
            node = g.node_id(execution_id)
            if node == C.STATISTICS_GEN:
                examples = g.input(execution_id, C.EXAMPLES_KEY)
                statistics = g.output(execution_id, C.STATISTICS_KEY)
                if examples is not None and statistics is not None:
                    from tabflow.artifacts.statistics import statistics_summary
                    self.statistics[examples] = _read(
                        "statistics", lambda: statistics_summary(g.artifacts[statistics].uri))
            elif node == C.CURATED_SCHEMA and self.schema is None:
                schema = g.output(execution_id, C.SCHEMA_KEY)
                if schema is not None:
                    from tabflow.artifacts.schema import schema_features
                    self.schema = _read("schema",
                                        lambda: schema_features(g.artifacts[schema].uri))

    def _common(self, artifact_id: int) -> Dict[str, DatasetFacet]:
        artifact = self.g.artifacts[artifact_id]
        type_name = self.g.type_name(artifact)
        facets: Dict[str, DatasetFacet] = {
            "datasetVersion": dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(artifact_id)),
            "tabflow_artifact": TabflowArtifactDatasetFacet(
                mlmdArtifactId=artifact_id, type=type_name,
                # TFX gives derived artifacts a span property too, 0 whatever the data's.
                span=facts.span(artifact) if type_name == C.EXAMPLES_TYPE
                else None),
        }
        if type_name == C.EXAMPLES_TYPE and self.schema:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=[
                schema_dataset.SchemaDatasetFacetFields(name=name, type=kind.split(",")[0])
                for name, kind in sorted(self.schema.items())])
        if type_name == "ModelEvaluation":
            from tabflow.artifacts.evaluation import overall_metrics
            metrics = _read("evaluation", lambda: overall_metrics(artifact.uri)) or {}
            blessed = self._blessed(artifact_id)
            facets["tabflow_modelMetrics"] = TabflowModelMetricsDatasetFacet(
                candidate=_finite(metrics.get("candidate")),
                baseline=_finite(metrics.get("baseline")), blessed=blessed)
        if type_name == C.MODEL_BLESSING_TYPE:
            facets["tabflow_modelMetrics"] = TabflowModelMetricsDatasetFacet(
                candidate={}, baseline={},
                blessed=bool(facts.blessed(artifact)))
        if type_name == C.PUSHED_MODEL_TYPE:
            facets["tabflow_push"] = TabflowPushDatasetFacet(
                pushed=facts.pushed(artifact),
                version=_text(custom(artifact, C.PUSHED_VERSION_PROPERTY)),
                destination=_text(custom(artifact, C.PUSHED_DESTINATION_PROPERTY)))
        return facets

    def _blessed(self, evaluation_id: int) -> Optional[bool]:
        for writer in self.g.writers(evaluation_id):
            blessing = self.g.output(writer, C.BLESSING_KEY)
            if blessing is not None:
                return bool(facts.blessed(self.g.artifacts[blessing]))
        return None

    def rows(self, artifact_id: int) -> Optional[int]:
        summary = self.statistics.get(artifact_id)
        return sum(s["examples"] for s in summary.values()) if summary else None

    def column_metrics(self, artifact_id: int) -> Dict[str, object]:
        """Per column over every split: nulls, distinct values (categorical), min and max."""
        out: Dict[str, dict] = {}
        for split in (self.statistics.get(artifact_id) or {}).values():
            for feature in split["features"]:
                m = out.setdefault(feature["name"], {"nullCount": 0})
                m["nullCount"] += int(round(feature.get("missing_fraction", 0.0)
                                            * split["examples"]))
                for key, pick in (("min", min), ("max", max)):
                    if feature.get(key) is not None:
                        m[key] = pick(m.get(key, feature[key]), feature[key])
                if feature.get("unique") is not None:
                    m["distinctCount"] = max(m.get("distinctCount", 0), int(feature["unique"]))
        return {name: data_quality_metrics_input_dataset.ColumnMetrics(**m)
                for name, m in sorted(out.items())}

    def _assertions(self, artifact_id: int) -> Optional[List]:
        """The data checks an anomalies artifact or a drift report records, as assertions."""
        artifact = self.g.artifacts[artifact_id]
        type_name = self.g.type_name(artifact)
        A = data_quality_assertions_dataset.Assertion
        if type_name == "ExampleAnomalies":
            from tabflow.artifacts.anomalies import problems, read_anomalies
            found = _read("anomalies", lambda: problems(read_anomalies(artifact.uri)))
            if found is None:
                return None
            return [A(assertion="schema_conformance", success=not found, severity="error")] + [
                A(assertion="schema_conformance", success=False, severity="error",
                  column=p.feature, description=f"{p.split} split: {p.reason}")
                for p in found]
        if type_name == C.DRIFT_REPORT_TYPE:
            from tabflow.artifacts.drift import read_drift_report
            report = _read("drift report", lambda: read_drift_report(artifact.uri))
            if report is None:
                return None
            return [A(assertion=f"{row['measure']} <= threshold",
                      success=row["distance"] <= row["threshold"], severity="error",
                      column=row["feature"], expected=f"<= {row['threshold']:.6g}",
                      actual=f"{row['distance']:.6g}", description=f"{row['split']} split")
                    for row in report.get("features", [])]
        return None



def _read(what: str, read):
    """read(), or None when the artifact's file cannot be read: a facet left out, never a
    failed export."""
    try:
        return read()
    except Exception as e:  # noqa: BLE001
        log.warning("OpenLineage: could not read the %s: %s", what, e)
        return None


def _finite(metrics: Optional[Dict[str, float]]) -> Dict[str, float]:
    return {k: float(v) for k, v in sorted((metrics or {}).items())
            if v is not None and v == v and abs(v) != float("inf")}


def _text(value) -> Optional[str]:
    return None if value is None else str(value)


# --- events --------------------------------------------------------------------------------------
def _gate_reasons(facts: _ArtifactFacts, g: Graph, execution_id: int) -> List[str]:
    reasons = []
    checked = [a for ids in g.inputs(execution_id).values() for a in ids]
    checked += g.outputs(execution_id).get(C.DRIFT_REPORT_KEY, [])
    for artifact_id in checked:
        for a in facts.assertions(artifact_id) or []:
            if not a.success and a.column:
                reasons.append(f"{a.column}: {a.description}"
                               + (f" ({a.assertion}: {a.actual}, expected {a.expected})"
                                  if a.actual else ""))
    return reasons


def run_events(store, pipeline_name: str, run: str = "latest", namespace: str = "tabflow",
               error: Optional[str] = None,
               failed_component: Optional[str] = None) -> List[RunEvent]:
    """The run's events, in time order: the pipeline's START, each execution's START and end,
    then the pipeline's end (none while it runs). `error` / `failed_component`: what the
    orchestrator saw, for runners that leave a failed execution RUNNING in MLMD."""
    # Facets name their producer from the client's module-level setting.
    set_producer(PRODUCER)
    info = mruns.resolve_run(store, pipeline_name, run)
    g = mruns.run_graph(store, info)
    executions = sorted((e for e in g.executions
                         if info.context.id in g.execution_contexts.get(e, ())),
                        key=lambda e: (g.executions[e].create_time_since_epoch, e))
    facts = _ArtifactFacts(g, executions)
    engine = processing_engine_run.ProcessingEngineRunFacet(
        version=_version("tfx"), name=INTEGRATION,
        openlineageAdapterVersion=_version("openlineage-python"))

    parent_id = run_uuid(pipeline_name, info.run_id, info.started)
    parent_job = Job(namespace=namespace, name=pipeline_name, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH",
                                                integration=INTEGRATION, jobType="DAG")})
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_id),
        job=parent_run.Job(namespace=namespace, name=pipeline_name),
        root=parent_run.Root(run=parent_run.RootRun(runId=parent_id),
                             job=parent_run.RootJob(namespace=namespace, name=pipeline_name)))
    events = [RunEvent(eventType=RunState.START, eventTime=_iso(info.started),
                       run=Run(runId=parent_id, facets={"processing_engine": engine}),
                       job=parent_job, producer=PRODUCER)]
    failures: List[str] = []
    for execution_id in executions:
        execution = g.executions[execution_id]
        node = g.node_id(execution_id)
        state = g.state(execution_id)
        start = _time(execution.create_time_since_epoch)
        run_id = run_uuid(pipeline_name, info.run_id, start, execution_id)
        run_facets: Dict[str, RunFacet] = {
            "parent": parent, "processing_engine": engine,
            "tabflow_execution": TabflowExecutionRunFacet(
                mlmdExecutionId=execution_id, node=node, state=state, runner=info.runner,
                pipelineRunId=info.run_id)}
        job = Job(namespace=namespace, name=f"{pipeline_name}.{node}", facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration=INTEGRATION, jobType="TASK")})
        inputs = [_input(facts, a, execution_id)
                  for ids in g.inputs(execution_id).values() for a in ids]
        outputs = [_output(facts, a) for ids in g.written(execution_id).values() for a in ids]
        events.append(RunEvent(eventType=RunState.START, eventTime=_iso(start),
                               run=Run(runId=run_id, facets=run_facets), job=job,
                               inputs=inputs, producer=PRODUCER))
        end_state = _END_STATES.get(state)
        if state == "RUNNING" and failed_component == node:
            end_state = RunState.FAIL
        if end_state is None:
            continue
        end_facets = dict(run_facets)
        if end_state == RunState.FAIL:
            reasons = _gate_reasons(facts, g, execution_id) or [error or f"{node} failed"]
            failures.append(f"{node}: " + "; ".join(reasons))
            end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message="; ".join(reasons), programmingLanguage="PYTHON")
        events.append(RunEvent(
            eventType=end_state, eventTime=_iso(_time(execution.last_update_time_since_epoch)),
            run=Run(runId=run_id, facets=end_facets), job=job, inputs=inputs,
            outputs=outputs, producer=PRODUCER))

    status = "FAILED" if (failures or error) and info.status != "FAILED" else info.status
    end = {"COMPLETE": RunState.COMPLETE, "FAILED": RunState.FAIL,
           "ABANDONED": RunState.ABORT}.get(status)
    if end is not None:
        ended = info.ended or _time(max((g.executions[e].last_update_time_since_epoch
                                         for e in executions), default=0))
        facets: Dict[str, RunFacet] = {"processing_engine": engine}
        if end == RunState.FAIL:
            facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=" | ".join(failures) or error or "the run failed",
                programmingLanguage="PYTHON")
        events.append(RunEvent(eventType=end, eventTime=_iso(ended),
                               run=Run(runId=parent_id, facets=facets), job=parent_job,
                               producer=PRODUCER))
    return events


def _input(facts: _ArtifactFacts, artifact_id: int, execution_id: int) -> InputDataset:
    namespace, name = dataset_name(facts.g.artifacts[artifact_id].uri)
    input_facets = {}
    rows = facts.rows(artifact_id)
    if rows is not None:
        input_facets["dataQualityMetrics"] = \
            data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                rowCount=rows, columnMetrics=facts.column_metrics(artifact_id))
    assertions = facts.assertions(artifact_id)
    if assertions is None and artifact_id == facts.g.input(execution_id,
                                                           C.DRIFT_GATE_INPUT_STATISTICS):
        # The drift gate writes its checks of the statistics it read as its report.
        report = facts.g.output(execution_id, C.DRIFT_REPORT_KEY)
        assertions = facts.assertions(report) if report is not None else None
    if assertions is not None:
        input_facets["dataQualityAssertions"] = \
            data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=assertions)
    return InputDataset(namespace=namespace, name=name, facets=facts.common(artifact_id),
                        inputFacets=input_facets)


def _output(facts: _ArtifactFacts, artifact_id: int) -> OutputDataset:
    namespace, name = dataset_name(facts.g.artifacts[artifact_id].uri)
    output_facets = {}
    rows = facts.rows(artifact_id)
    if rows is not None:
        output_facets["outputStatistics"] = \
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
    return OutputDataset(namespace=namespace, name=name, facets=facts.common(artifact_id),
                         outputFacets=output_facets)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def to_json(event: RunEvent) -> str:
    return Serde.to_json(event)


def to_dict(event: RunEvent) -> dict:
    return json.loads(Serde.to_json(event))


# --- delivery ------------------------------------------------------------------------------------
def _transport(kind: str, target: str, timeout: float, endpoint: str, environ):
    if kind == "file":
        from openlineage.client.transport.file import FileConfig, FileTransport
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        return FileTransport(FileConfig(log_file_path=target, append=True))
    from openlineage.client.transport.http import (
        ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider)
    from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
    key = environment.get(API_KEY, environ)
    auth = ApiKeyTokenProvider({"apiKey": key}) if key else TokenProvider({})
    return HttpTransport(HttpConfig(url=target, endpoint=endpoint, timeout=timeout, auth=auth,
                                    retry={**DEFAULT_RETRY_CONFIG, "total": 3, "read": 3,
                                           "connect": 3, "backoff_factor": 0.5}))


def deliver(events: Iterable[RunEvent], file_path: str = "", url: str = "",
            endpoint: str = "api/v1/lineage", timeout: float = 10.0,
            environ=None) -> Dict[str, Optional[str]]:
    """Sends the events to a JSON-lines file and/or an HTTP endpoint (OpenLineage's own
    transports); {"openlineage file"/"openlineage http": None if delivered, else the error}.
    Never raises: the run's own result stands."""
    environ = os.environ if environ is None else environ
    events = list(events)
    results: Dict[str, Optional[str]] = {}
    for kind, target in (("file", file_path), ("http", url)):
        if not target:
            continue
        label = f"openlineage {kind}"
        try:
            client = OpenLineageClient(transport=_transport(kind, target, timeout, endpoint,
                                                            environ))
            for event in events:
                client.emit(event)
            results[label] = None
        except Exception as e:  # noqa: BLE001 - lineage delivery never fails the run
            error = redact_text(f"{type(e).__name__}: {e}")
            log.warning("OpenLineage events to %s failed: %s", mask_url(target), error)
            results[label] = error
    return results


def emit_run(config, run_id: str, error: Optional[str] = None,
             failed_component: Optional[str] = None, store=None) -> Dict[str, Optional[str]]:
    """The run's events to the targets the config names (openlineage section); never raises.
    `store`: the open store, when the caller has it."""
    section = config.openlineage
    if not (section.openlineage_file or section.openlineage_url):
        return {}
    try:
        from tabflow.metadata.store import open_store
        events = run_events(store or open_store(config.store), config.pipeline_name, run_id,
                            section.openlineage_namespace, error, failed_component)
    except Exception as e:  # noqa: BLE001 - lineage delivery never fails the run
        log.exception("could not build the OpenLineage events of run %s", run_id)
        return {"openlineage": f"{type(e).__name__}: {e}"}
    return deliver(events, section.openlineage_file, section.openlineage_url,
                   section.openlineage_endpoint, section.openlineage_timeout)

