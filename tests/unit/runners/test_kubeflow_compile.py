"""Kubeflow v2 / Vertex packages: compiled for real, parsed strictly, compared with the local DAG.

No cluster and no Google Cloud here: the two submit tests replace kfp.Client and
aiplatform.PipelineJob with recorders and say so in their names.
"""
import json
from pathlib import Path

import pytest
import yaml

from tabflow.config import PipelineConfig
from tabflow.contract import TUNING_REUSE

# Spelled out rather than imported from pipeline.pipeline, which imports TFX at collection time.
RESOLVER_ID = "latest_blessed_model_resolver"
# KubeflowV2's compiler has no custom resolver strategies: both targets leave this one out.
DRIFT_RESOLVER_ID = "drift_baseline_resolver"

IMAGE = "registry.example.com/taxi-tfx-pipeline:test"
EXIT_HANDLER_ID = "NotifyOnExit"
EXTRA_BEAM_ARGS = ["--direct_num_workers=2"]


def _config(tmp, **changes) -> PipelineConfig:
    return PipelineConfig.from_flat(output_root=str(tmp), kfp_image=IMAGE,
                                    beam_args=EXTRA_BEAM_ARGS, **changes)


def _remote_config(tmp, **changes) -> PipelineConfig:
    """What a user compiles for a cluster: outputs in a bucket, packages on local disk."""
    return PipelineConfig.from_flat(output_root="gs://taxi-bucket/out", kfp_image=IMAGE,
                                    kfp_output_dir=str(tmp / "packages"),
                                    beam_args=EXTRA_BEAM_ARGS, **changes)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from runners import kubeflow_v2
    config = _config(tmp_path_factory.mktemp("kfp"))
    return config, {t: kubeflow_v2.compile_pipeline(config, t, allow_local_root=True)
                    for t in kubeflow_v2.TARGETS}


def _strict_spec(compiled_pipeline):
    """(PipelineSpec from the YAML, PipelineJob from the JSON); unknown fields are errors."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    with open(compiled_pipeline.pipeline_spec_yaml) as f:
        spec = json_format.ParseDict(yaml.safe_load(f), pipeline_spec_pb2.PipelineSpec())
    with open(compiled_pipeline.pipeline_job_json) as f:
        job = json_format.Parse(f.read(), pipeline_spec_pb2.PipelineJob())
    return spec, job


def _as_dict(message):
    from google.protobuf import json_format
    return json_format.MessageToDict(message)


def _spec_dict(compiled_pipeline):
    with open(compiled_pipeline.pipeline_job_json) as f:
        return json.load(f)["pipelineSpec"]


def _tasks(spec):
    from runners.kubeflow_v2 import pipeline_tasks
    return pipeline_tasks(spec)


def _node_of(task_name: str) -> str:
    # The compiler splits the latest-blessed-model resolver into two resolver tasks.
    return RESOLVER_ID if task_name.startswith(RESOLVER_ID + "-") else task_name


def _compiled_graph(spec):
    from runners.kubeflow_v2 import pipeline_tasks
    tasks = pipeline_tasks(spec)
    nodes = {_node_of(name) for name in tasks}
    edges = {(_node_of(up), _node_of(name)) for name, task in tasks.items()
             for up in task.get("dependentTasks", [])}
    return nodes, edges


def _local_graph(config, baseline):
    """The local pipeline's graph without the drift baseline and tuning reuse resolvers, which
    no Kubeflow target has."""
    from pipeline.pipeline import create_pipeline
    from pipeline.inputs import gather
    pipeline = create_pipeline(config, gather(config, "vertex"), baseline=baseline)
    nodes = {c.id for c in pipeline.components}
    edges = {(up.id, c.id) for c in pipeline.components for up in c.upstream_nodes}
    custom = {DRIFT_RESOLVER_ID, TUNING_REUSE}
    assert custom <= nodes
    return nodes - custom, {e for e in edges if not custom & set(e)}


def _containers(spec):
    return {label: executor["container"]
            for label, executor in spec["deploymentSpec"]["executors"].items()
            if "container" in executor}


@pytest.mark.parametrize("target", ["vertex", "kfp"])
def test_packages_parse_strictly_with_the_pipeline_spec_protos(compiled, target):
    config, packages = compiled
    spec, job = _strict_spec(packages[target])
    assert spec.pipeline_info.name == config.pipeline_name
    assert spec.default_pipeline_root == config.pipeline_root
    assert job.runtime_config.gcs_output_directory == config.pipeline_root
    assert _as_dict(spec) == _as_dict(job.pipeline_spec)


@pytest.mark.parametrize("target", ["vertex", "kfp"])
def test_kfp_sdk_loads_the_yaml(compiled, target):
    from kfp import components
    _, packages = compiled
    loaded = components.load_component_from_file(packages[target].pipeline_spec_yaml)
    assert loaded.name == "taxi"


def test_vertex_keeps_every_node_and_edge_of_the_local_pipeline_but_the_drift_baseline(compiled):
    from tabflow.contract import DRIFT_BASELINE, RESOLVER as resolver_id
    assert resolver_id == RESOLVER_ID and DRIFT_BASELINE == DRIFT_RESOLVER_ID
    config, packages = compiled
    assert _compiled_graph(_spec_dict(packages["vertex"])) == \
        _local_graph(config, "latest_blessed")
    # Locally the resolver also reads the candidate (pipeline/baseline.py): one edge more.
    local_nodes, local_edges = _local_graph(config, "blessed_before_candidate")
    vertex_nodes, vertex_edges = _local_graph(config, "latest_blessed")
    assert local_nodes == vertex_nodes
    assert local_edges - vertex_edges == {("Trainer", RESOLVER_ID)}
    tasks = _tasks(_spec_dict(packages["vertex"]))
    baseline = tasks["Evaluator"]["inputs"]["artifacts"]["baseline_model"]
    assert baseline["taskOutputArtifact"]["producerTask"] == f"{RESOLVER_ID}-model-resolver"


@pytest.mark.parametrize("target", ["vertex", "kfp"])
def test_drift_gate_has_no_baseline_input_on_kubeflow(compiled, target):
    _, packages = compiled
    tasks = _tasks(_spec_dict(packages[target]))
    assert set(tasks["DriftGate"]["inputs"]["artifacts"]) == {"examples", "statistics", "schema"}
    assert {"AnomalyGate", "DriftGate"} <= set(tasks["Transform"]["dependentTasks"])


def test_kfp_target_drops_only_the_resolver_and_the_baseline_input(compiled):
    config, packages = compiled
    nodes, edges = _local_graph(config, "latest_blessed")
    kfp_nodes, kfp_edges = _compiled_graph(_spec_dict(packages["kfp"]))
    assert kfp_nodes == nodes - {RESOLVER_ID}
    assert kfp_edges == {e for e in edges if RESOLVER_ID not in e}
    assert (kfp_nodes, kfp_edges) == _local_graph(config, "none")
    tasks = _tasks(_spec_dict(packages["kfp"]))
    assert set(tasks["Evaluator"]["inputs"]["artifacts"]) == {"examples", "model"}
    assert packages["kfp"].with_baseline is False and packages["vertex"].with_baseline is True


def test_every_container_runs_the_configured_image_with_the_beam_args(compiled):
    from pipeline.beam_presets import beam_pipeline_args
    config, packages = compiled
    beam_args = beam_pipeline_args(config.beam)
    assert EXTRA_BEAM_ARGS[0] in beam_args
    component_nodes = _local_graph(config, "latest_blessed")[0] - {RESOLVER_ID}
    for target, package in packages.items():
        containers = _containers(_spec_dict(package))
        handler = [label for label in containers if label.startswith(EXIT_HANDLER_ID)]
        assert len(handler) == (1 if target == "vertex" else 0), target
        assert containers.pop(handler[0])["image"] == IMAGE if handler else True
        assert len(containers) == len(component_nodes), target  # the resolver is no container
        for label, container in containers.items():
            assert container["image"] == IMAGE, label
            assert container["command"] == [
                "python", "-m", "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"]
            assert container["args"][-len(beam_args):] == beam_args, label


def test_pusher_runs_only_for_a_blessed_model_and_caching_follows_config(compiled):
    _, packages = compiled
    for package in packages.values():
        tasks = _tasks(_spec_dict(package))
        assert "['blessed'] == 1.0" in tasks["Pusher"]["triggerPolicy"]["condition"]
        assert tasks["Transform"]["cachingOptions"] == {"enableCache": True}


def test_gs_uris_compile_without_google_cloud_access(tmp_path, monkeypatch):
    from runners import kubeflow_v2
    monkeypatch.chdir(tmp_path)  # a URI mistaken for a local path would show up here
    config = _config("gs://taxi-bucket/out", data_root="gs://taxi-bucket/data",
                     kfp_output_dir=str(tmp_path / "packages"))
    spec, job = _strict_spec(kubeflow_v2.compile_pipeline(config, "vertex",
                                                          allow_local_root=True))
    assert job.runtime_config.gcs_output_directory == "gs://taxi-bucket/out/pipeline_root/taxi"
    tasks = _tasks(_as_dict(spec))
    input_base = tasks["CsvExampleGen"]["inputs"]["parameters"]["input_base"]
    assert input_base["runtimeValue"]["constantValue"]["stringValue"] == "gs://taxi-bucket/data"
    push = tasks["Pusher"]["inputs"]["parameters"]["push_destination"]
    assert "gs://taxi-bucket/out/serving_model/taxi" in \
        push["runtimeValue"]["constantValue"]["stringValue"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packages"]


def test_a_remote_package_folder_is_refused(tmp_path):
    from runners import kubeflow_v2
    with pytest.raises(ValueError, match="kfp_output_dir must be a local folder"):
        kubeflow_v2.compile_pipeline(_config(tmp_path, kfp_output_dir="gs://b/packages"), "kfp",
                                     allow_local_root=True)


@pytest.mark.parametrize("target", ["kfp", "vertex"])
def test_a_local_output_root_is_refused(tmp_path, target, capsys):
    from tabflow.console.main import main
    from runners import kubeflow_v2
    with pytest.raises(ValueError, match="output_root must be a bucket URI"):
        kubeflow_v2.compile_pipeline(_config(tmp_path), target)
    assert main(["kubeflow", "compile", "--target", target, "--output-root", str(tmp_path),
                 "--kfp-image", IMAGE]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ERROR: config setting output_root must be a bucket URI")


def test_cli_compile_writes_both_packages_and_notes_the_missing_resolver(tmp_path, capsys):
    from tabflow.console.main import main
    assert main(["kubeflow", "compile", "--target", "kfp",
                 "--output-root", "gs://taxi-bucket/out", "--kfp-output-dir", str(tmp_path),
                 "--kfp-image", IMAGE]) == 0
    out = capsys.readouterr().out
    assert "absolute thresholds only" in out
    assert str(tmp_path / "taxi-kfp.yaml") in out
    assert (tmp_path / "taxi-kfp.json").is_file()


def test_submit_needs_an_endpoint_or_a_project(tmp_path):
    from runners import kubeflow_v2
    with pytest.raises(ValueError, match="kfp_endpoint"):
        kubeflow_v2.submit(_config(tmp_path), "kfp")
    with pytest.raises(ValueError, match="gcp_project"):
        kubeflow_v2.submit(_config(tmp_path), "vertex")


def test_submit_to_kfp_without_cluster_sends_the_yaml(tmp_path, monkeypatch):
    import kfp
    from runners import kubeflow_v2
    calls = {}

    class RecordingClient:
        def __init__(self, host):
            calls["host"] = host

        def create_run_from_pipeline_package(self, pipeline_file, **kwargs):
            calls["file"], calls["kwargs"] = pipeline_file, kwargs
            return "run"

    monkeypatch.setattr(kfp, "Client", RecordingClient)
    config = _remote_config(tmp_path, kfp_endpoint="http://127.0.0.1:8888")
    assert kubeflow_v2.submit(config, "kfp", run_name="r1") == "run"
    assert calls["host"] == "http://127.0.0.1:8888"
    assert calls["file"] == kubeflow_v2.package_paths(config, "kfp")[0]
    assert calls["kwargs"]["pipeline_root"] == config.pipeline_root
    assert calls["kwargs"]["run_name"] == "r1"


def test_submit_to_vertex_without_google_cloud_sends_the_job_json(tmp_path, monkeypatch):
    from google.cloud import aiplatform
    from runners import kubeflow_v2
    calls = {}

    class RecordingJob:
        def __init__(self, **kwargs):
            calls["init"] = kwargs

        def submit(self, service_account=None):
            calls["service_account"] = service_account

    monkeypatch.setattr(aiplatform, "PipelineJob", RecordingJob)
    config = _remote_config(tmp_path, gcp_project="taxi-project", gcp_region="europe-west4")
    kubeflow_v2.submit(config, "vertex", service_account="sa@taxi-project.iam")
    init = calls["init"]
    assert init["template_path"] == kubeflow_v2.package_paths(config, "vertex")[1]
    assert (init["project"], init["location"]) == ("taxi-project", "europe-west4")
    assert init["pipeline_root"] == config.pipeline_root
    assert calls["service_account"] == "sa@taxi-project.iam"


# --- Dockerfile: no Docker engine here, so it is parsed and checked rather than built. ---

REPO = Path(__file__).resolve().parents[3]
DOCKER_INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY",
                       "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD",
                       "STOPSIGNAL", "HEALTHCHECK", "SHELL"}


def _dockerfile_instructions():
    """[(INSTRUCTION, argument text)], joining continuation lines and dropping comments."""
    instructions, pending = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker
        pending += " " + stripped
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        keyword, _, rest = pending.strip().partition(" ")
        instructions.append((keyword, rest.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def _dockerignore():
    return [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_dockerfile_instructions_are_valid_and_the_base_is_pinned():
    instructions = _dockerfile_instructions()
    assert all(keyword in DOCKER_INSTRUCTIONS for keyword, _ in instructions), instructions
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert froms == ["tensorflow/tfx:1.16.0"]
    assert instructions[0][0] == "FROM"
    assert not any(":latest" in rest or rest.endswith(":") for rest in froms)
    for keyword, rest in instructions:
        if keyword in ("ENTRYPOINT", "CMD"):
            assert isinstance(json.loads(rest), list), f"{keyword} must use the exec form"
        if keyword == "WORKDIR":
            assert rest.startswith("/")
    assert ("ENV", "TF_USE_LEGACY_KERAS=1") in instructions


def test_dockerfile_copies_existing_files_that_dockerignore_keeps():
    ignored = _dockerignore()
    for excluded in (".venv", "outputs", ".git"):
        assert excluded in ignored
    copies = [rest.split() for keyword, rest in _dockerfile_instructions()
              if keyword in ("COPY", "ADD")]
    assert copies
    for *sources, _destination in copies:
        for source in sources:
            assert not source.startswith("--"), "COPY flags are not expected here"
            assert (REPO / source).exists(), f"COPY source {source} is not in the repository"
            assert source == "." or source.split("/")[0] not in ignored


def test_packages_installed_in_the_image_are_pinned_by_the_lock():
    pins = {line.split("==")[0].lower() for line in
            (REPO / "requirements.lock").read_text().splitlines() if "==" in line
            and not line.startswith(" ")}
    runs = [rest for keyword, rest in _dockerfile_instructions() if keyword == "RUN"]
    constrained = [r for r in runs if "--constraint /pipeline/requirements.lock" in r]
    assert len(constrained) == 1
    packages = constrained[0].split("requirements.lock", 1)[1].split("&&")[0].split()
    assert packages and all(p.lower() in pins for p in packages), packages
    assert {"tfx", "tensorflow"} <= pins
    assert "tfx==1.16.0" in (REPO / "requirements.lock").read_text().splitlines()


def test_vertex_notifies_from_an_exit_handler_after_every_task(compiled):
    """The Vertex target runs NotifyOnExit once all of the pipeline's tasks (in TFX's tfx-dag
    sub-DAG) have ended, whatever their state, with their final status; the alert settings
    are compiled in, the secrets are not. KFP has none."""
    import json as json_lib
    from runners.kubeflow_v2 import TFX_DAG
    config, packages = compiled
    root = _spec_dict(packages["vertex"])["root"]["dag"]["tasks"]
    assert set(root) == {TFX_DAG, EXIT_HANDLER_ID}
    handler = root[EXIT_HANDLER_ID]
    assert handler["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert handler["dependentTasks"] == [TFX_DAG]
    params = handler["inputs"]["parameters"]
    assert params["final_status"] == {"taskFinalStatus": {"producerTask": TFX_DAG}}
    alerts = json_lib.loads(params["alerts_json"]["runtimeValue"]["constantValue"]["stringValue"])
    assert alerts["alert_on"] == config.alerts.alert_on
    assert not any("secret" in k or "password" in k or "url" in k for k in alerts)
    assert EXIT_HANDLER_ID not in _spec_dict(packages["kfp"])["root"]["dag"]["tasks"]


@pytest.mark.parametrize("state,kind", [("FAILED", "failed"), ("SUCCEEDED", "succeeded")])
def test_exit_handler_function_sends_the_final_status_no_vertex_runtime(state, kind,
                                                                        monkeypatch):
    """The handler's own code, called as Vertex's entrypoint would call it (no Vertex AI here),
    posting to an HTTP receiver on loopback."""
    import dataclasses
    import json as json_lib
    from tabflow.alerts.channels import WEBHOOK_URL_VARIABLE
    from pipeline.exit_notify import NotifyOnExit
    from tests.support.receivers import http_receiver
    final_status = json_lib.dumps({
        "state": state, "pipelineJobResourceName": "projects/p/locations/l/pipelineJobs/j-1",
        "error": {"code": 9, "message": "The DAG failed because some tasks failed. The failed "
                                        "tasks are: [Trainer]."} if state == "FAILED" else {}})
    alerts = dataclasses.asdict(PipelineConfig.from_flat(webhook_format="json").alerts)
    with http_receiver() as server:
        monkeypatch.setenv(WEBHOOK_URL_VARIABLE, server.url)
        NotifyOnExit.test_call(final_status=final_status, pipeline_name="taxi",
                               alerts_json=json_lib.dumps(alerts))
    [post] = server.received
    assert post["body"]["kind"] == kind
    assert post["body"]["run_id"] == "projects/p/locations/l/pipelineJobs/j-1"
    if state == "FAILED":
        assert "[Trainer]" in post["body"]["reasons"][0]


@pytest.mark.parametrize("target", ["vertex", "kfp"])
def test_recurring_schedules_compile_to_the_platforms_requests(tmp_path, target):
    """kfp_schedule = @daily: a Vertex Schedule and a KFP RecurringRun that start the compiled
    package every day at 00:00 in the time zone, one run at a time, without catch-up."""
    from runners import kubeflow_v2
    config = _remote_config(tmp_path, kfp_schedule="@daily", kfp_schedule_timezone="Europe/Paris",
                            gcp_project="taxi-project", gcp_region="europe-west4")
    compiled = kubeflow_v2.compile_pipeline(config, target)
    with open(compiled.pipeline_job_json) as f:
        spec = json.load(f)["pipelineSpec"]
    with open(compiled.schedule_json) as f:
        body = json.load(f)
    if target == "vertex":
        from google.cloud import aiplatform_v1
        schedule = aiplatform_v1.Schedule.from_json(json.dumps(body))  # strict parse
        assert schedule.cron == "TZ=Europe/Paris 0 0 * * *"
        assert schedule.max_concurrent_run_count == 1 and not schedule.catch_up
        request = body["createPipelineJobRequest"]
        assert request["parent"] == "projects/taxi-project/locations/europe-west4"
        assert request["pipelineJob"]["pipelineSpec"] == spec
        assert request["pipelineJob"]["runtimeConfig"]["gcsOutputDirectory"] == \
            config.pipeline_root
    else:
        import kfp_server_api
        assert body["trigger"]["cron_schedule"]["cron"] == "0 0 0 * * *"  # seconds first
        assert body["max_concurrency"] == "1" and body["no_catchup"] is True
        assert body["mode"] == "ENABLE" and body["pipeline_spec"] == spec
        assert body["runtime_config"]["pipeline_root"] == config.pipeline_root
        fields = set(kfp_server_api.V2beta1RecurringRun.attribute_map.values())
        assert set(body) <= fields


def test_no_schedule_without_a_cron_and_a_bad_cron_is_named(tmp_path):
    from runners import kubeflow_v2
    assert kubeflow_v2.compile_pipeline(_remote_config(tmp_path), "kfp").schedule_json == ""
    with pytest.raises(ValueError, match="kfp_schedule must be"):
        _remote_config(tmp_path, kfp_schedule="every day")


def test_every_condition_reads_inputs_its_task_has(compiled):
    """TFX's compiler wrote Pusher's condition over `_Evaluator.blessing`, an input Pusher does
    not have (it takes the blessing as `model_blessing`); the platform could not evaluate it."""
    import re
    from runners import kubeflow_v2
    _, packages = compiled
    for target, package in packages.items():
        with open(package.pipeline_job_json) as f:
            tasks = kubeflow_v2.pipeline_tasks(json.load(f)["pipelineSpec"])
        conditions = {name: task["triggerPolicy"]["condition"] for name, task in tasks.items()
                      if task.get("triggerPolicy", {}).get("condition")}
        assert set(conditions) == {"Pusher"}, target
        for name, condition in conditions.items():
            keys = re.findall(r"inputs\.artifacts\['([^']+)'\]", condition)
            assert keys and set(keys) <= set(tasks[name]["inputs"]["artifacts"]), condition
        assert "['model_blessing']" in conditions["Pusher"]
        assert "metadata['blessed'] == 1.0" in conditions["Pusher"]
