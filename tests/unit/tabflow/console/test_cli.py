"""The tabflow console entry point (console/), called in-process (no pipeline run)."""
import json
import os
import shutil

import pytest

from tabflow.artifacts.schema import load_schema
from pipeline import schema_proposal
from tabflow.config import PipelineConfig
from tabflow.console.main import main


def test_config_shows_overrides_from_flags_and_env(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TAXI_EVAL_STEPS", "33")
    assert main(["config", "--train-steps", "7", "--output-root", str(tmp_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["training"]["train_steps"] == 7
    assert shown["training"]["eval_steps"] == 33
    assert shown["store"]["metadata_path"] == str(tmp_path / "metadata.sqlite")


def test_bad_setting_is_named(capsys):
    assert main(["config", "--train-steps", "many"]) == 2
    err = capsys.readouterr().err
    assert "--train-steps" in err and "many" in err


@pytest.fixture
def curated_copy(tmp_path):
    path = tmp_path / "schema.pbtxt"
    shutil.copy(PipelineConfig().data.schema_path, path)
    return path


NEW_VALUE = "unseen-category"


def _inferred_with_a_new_category(curated_path, tmp_path):
    """What inference proposes after a span brings a category the curated schema does not
    know: one more value in its first closed string vocabulary, whichever feature that is."""
    assert NEW_VALUE not in curated_path.read_text()
    schema = load_schema(curated_path)
    domains = [*schema.string_domain,
               *(f.string_domain for f in schema.feature if f.HasField("string_domain"))]
    assert domains, f"{curated_path} has no string domain to add a value to"
    domains[0].value.append(NEW_VALUE)
    path = tmp_path / "inferred.pbtxt"
    path.write_text(schema_proposal.schema_to_text(schema))
    return path


def test_schema_propose_writes_a_proposal_and_leaves_the_curated_file(
        capsys, curated_copy, tmp_path):
    before = curated_copy.read_text()
    inferred = _inferred_with_a_new_category(curated_copy, tmp_path)
    out = tmp_path / "proposal.pbtxt"
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--inferred", str(inferred), "--output", str(out),
                 "--output-root", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert NEW_VALUE in printed and "+" in printed
    assert "unchanged" in printed
    assert curated_copy.read_text() == before
    assert NEW_VALUE in out.read_text()


def test_schema_propose_takes_value_constraints_from_a_statistics_file(
        capsys, curated_copy, tmp_path):
    from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2
    schema = schema_proposal.load_schema(curated_copy)
    schema.feature.add(name="toll", type=schema_pb2.FLOAT)
    inferred = tmp_path / "inferred.pbtxt"
    inferred.write_text(schema_proposal.schema_to_text(schema))
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    feature = stats.datasets.add().features.add()
    feature.path.step.append("toll")
    feature.num_stats.min, feature.num_stats.max = 0.0, 12.5
    feature.num_stats.common_stats.num_non_missing = 5000
    path = tmp_path / "FeatureStats.pb"
    path.write_bytes(stats.SerializeToString())
    out = tmp_path / "proposal.pbtxt"
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--inferred", str(inferred), "--statistics", str(path), "--output", str(out),
                 "--output-root", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"statistics:      {path}" in printed
    assert "value constraints min 0.0, max 130.0, disallow_nan, disallow_inf" in printed


def test_schema_propose_apply_replaces_only_when_asked(capsys, curated_copy, tmp_path):
    inferred = _inferred_with_a_new_category(curated_copy, tmp_path)
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--inferred", str(inferred), "--output", str(tmp_path / "p.pbtxt"),
                 "--output-root", str(tmp_path), "--apply"]) == 0
    assert NEW_VALUE in curated_copy.read_text()


def test_schema_propose_without_a_store_says_run_first(capsys, curated_copy, tmp_path):
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--output-root", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "run the pipeline first" in err
    assert not (tmp_path / "empty").exists()


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_each_subcommand_registers_only_the_settings_it_reads(capsys):
    lineage = _help(capsys, "lineage", "runs")
    assert "--metadata-path" in lineage and "--mysql-host" in lineage
    assert "--output-root" in lineage and "--pipeline-name" in lineage
    for unread in ("--tuner-trials", "--train-steps", "--beam-preset", "--kfp-image",
                   "--airflow-schedule", "--threshold"):
        assert unread not in lineage
    report = _help(capsys, "report")
    assert "--metadata-path" in report and "--tuner-trials" not in report
    schema = _help(capsys, "schema", "propose")
    assert "--schema-path" in schema and "--metadata-path" in schema
    assert "--tuner-trials" not in schema
    kubeflow = _help(capsys, "kubeflow", "compile")
    assert "--kfp-image" in kubeflow and "--tuner-trials" in kubeflow
    assert "--metadata-path" not in kubeflow and "--airflow-schedule" not in kubeflow
    for full in ("run", "config"):
        text = _help(capsys, full)
        assert "--tuner-trials" in text and "--metadata-path" in text
        assert "--airflow-schedule" in text and "--kfp-image" in text


def test_a_flag_of_another_section_is_refused(capsys):
    with pytest.raises(SystemExit) as done:
        main(["lineage", "runs", "--tuner-trials", "3"])
    assert done.value.code == 2
    assert "--tuner-trials" in capsys.readouterr().err


def test_lineage_without_a_store_is_one_line_and_creates_nothing(capsys, tmp_path):
    assert main(["lineage", "runs", "--output-root", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ERROR: no MLMD store at ")
    assert "run the pipeline first" in err
    assert not (tmp_path / "none").exists()


def test_a_store_error_is_one_line_and_exit_2(capsys, tmp_path):
    (tmp_path / "metadata.sqlite").write_text("not a database " * 100)
    assert main(["report", "--output-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"ERROR: the MLMD store {tmp_path / 'metadata.sqlite'} is not an "
                          "SQLite database")
    assert "Traceback" not in err


def test_an_unknown_run_is_one_line_and_exit_1(capsys, tmp_path):
    from tabflow.metadata.store import connection_config
    from ml_metadata import metadata_store
    from tabflow.config import from_sources
    config = from_sources(environ={}, output_root=str(tmp_path))
    metadata_store.MetadataStore(connection_config(config.store, create=True))
    assert main(["lineage", "diff", "previous", "latest", "--output-root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ERROR: ")


def test_config_prints_sections_and_masks_url_credentials(capsys, tmp_path):
    assert main(["config", "--output-root", str(tmp_path), "--threshold", "0.6",
                 "--pushgateway-url", "https://ops:s3cret@push.example.com"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert {"data", "training", "gates", "beam", "airflow", "kubeflow", "store"} <= set(shown)
    assert shown["gates"]["threshold"] == 0.6
    assert shown["metrics"]["pushgateway_url"] == "https://ops:***@push.example.com"
    assert "s3cret" not in out
    assert not tmp_path.joinpath("metadata.sqlite").exists()


def test_a_mysql_password_flag_is_refused_in_one_line(capsys, tmp_path):
    """A command line is visible to every user in ps: the password comes from a file or the
    environment."""
    with pytest.raises(SystemExit) as e:
        main(["config", "--output-root", str(tmp_path), "--mysql-password", "s3cret"])
    assert e.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("ERROR: --mysql-password")
    assert "--mysql-password-file" in captured.err and "TABFLOW_MYSQL_PASSWORD" in captured.err
    assert "s3cret" not in captured.out + captured.err


def test_a_mistyped_taxi_variable_is_one_warning_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TAXI_TRAIN_STEPZ", "5")
    monkeypatch.setenv("TAXI_VENV", ".venv")
    assert main(["config", "--output-root", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "TAXI_TRAIN_STEPZ" in err[0] and "train_steps" in err[0]


def _run_error(capsys, argv):
    code = main(["run", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_run_with_an_unwritable_output_root_is_one_line_and_exit_2(capsys, tmp_path):
    # Tests run as root, where permission bits do not stop writes: nobody can create a folder
    # under a regular file.
    (tmp_path / "file.txt").write_text("x")
    code, err = _run_error(capsys, ["--output-root", str(tmp_path / "file.txt" / "out")])
    assert code == 2 and len(err) == 1
    assert "output_root" in err[0] and "file.txt" in err[0]


def test_run_with_an_unwritable_log_folder_is_one_line_and_exit_2(capsys, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    code, err = _run_error(capsys, ["--output-root", str(tmp_path / "out"),
                                    "--log-file", str(tmp_path / "file.txt" / "run.log")])
    assert code == 2 and len(err) == 1 and "log_file" in err[0]


def test_run_with_a_corrupt_store_is_one_line_and_exit_2(capsys, tmp_path):
    store = tmp_path / "metadata.sqlite"
    store.write_bytes(b"this is not a database" * 100)
    code, err = _run_error(capsys, ["--output-root", str(tmp_path / "out"),
                                    "--metadata-path", str(store)])
    assert code == 2 and len(err) == 1
    assert "metadata_path" in err[0] and str(store) in err[0]


def test_run_with_an_unreachable_mysql_is_one_line_and_exit_2(capsys, tmp_path):
    code, err = _run_error(capsys, ["--output-root", str(tmp_path / "out"),
                                    "--mysql-host", "127.0.0.1", "--mysql-port", "1"])
    assert code == 2 and len(err) == 1
    assert "mysql_host" in err[0] and "mysql://127.0.0.1:1/" in err[0]


@pytest.fixture
def locked_store(tmp_path, monkeypatch):
    """A real MLMD store that another connection keeps under an exclusive lock, as a writer
    stuck mid-transaction would; the wait for the lock is shortened to keep the test quick."""
    import sqlite3
    from ml_metadata import metadata_store
    from tabflow.metadata import store as store_lib
    from tabflow.config import from_sources
    config = from_sources(environ={}, output_root=str(tmp_path))
    metadata_store.MetadataStore(store_lib.connection_config(config.store, create=True))
    monkeypatch.setattr(store_lib, "LOCK_WAIT_SECONDS", 0.5)
    holder = sqlite3.connect(config.store.metadata_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield config.store.metadata_path
    holder.execute("ROLLBACK")
    holder.close()


def test_a_locked_store_is_one_line_and_exit_2_for_readers_and_runs(capsys, tmp_path,
                                                                    locked_store):
    assert main(["lineage", "runs", "--output-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"ERROR: the MLMD store {locked_store} is locked by another process; "
                   "retry when it has finished"]
    code, err = _run_error(capsys, ["--output-root", str(tmp_path)])
    assert code == 2 and len(err) == 1
    assert "is locked by another process" in err[0] and "metadata_path" in err[0]


def test_run_summary_says_what_serves_after_a_rollback(capsys, tmp_path):
    from types import SimpleNamespace
    from tabflow.console.run import _print_run_result
    from tabflow.config import from_sources
    from tabflow.registry import serving
    config = from_sources(environ={}, output_root=str(tmp_path))
    for version in ("100", "200"):
        os.makedirs(os.path.join(config.serving_dir, version))
    serving.write_labels(config.serving_dir, {"serving": 100})  # rolled back from 200
    result = SimpleNamespace(run_id="local-x", wall_seconds=1.0, executions=[],
                             pushed=[os.path.join(config.serving_dir, "200")])
    _print_run_result(config, result)
    out = capsys.readouterr().out
    assert "pushed model:  " + os.path.join(config.serving_dir, "200") in out
    assert "serving now:   version 100 (the serving alias" in out
    serving.write_labels(config.serving_dir, {"serving": 200})
    _print_run_result(config, result)
    assert "serving now" not in capsys.readouterr().out


def test_a_corrupt_artifact_is_one_line_naming_file_and_byte_and_exit_2(tmp_path):
    """The real entry point, in a process of its own, on a run whose statistics file was cut
    short: `report` and `lineage diff` print one line and no traceback."""
    import subprocess
    import sys
    from pathlib import Path
    from ml_metadata.proto import metadata_store_pb2 as pb
    from tensorflow_metadata.proto.v0 import statistics_pb2
    from tests.support.mlmd_records import sqlite_writer
    writer = sqlite_writer(tmp_path / "metadata.sqlite")
    run = writer.ir_run("run-1", {"StatisticsGen": pb.Execution.COMPLETE})
    [execution] = writer.store.get_executions_by_context(run.id)
    stats_type = writer.store.put_artifact_type(pb.ArtifactType(name="ExampleStatistics"))
    statistics = tmp_path / "statistics" / "Split-train" / "FeatureStats.pb"
    statistics.parent.mkdir(parents=True)
    whole = statistics_pb2.DatasetFeatureStatisticsList()
    whole.datasets.add(num_examples=40).features.add(name="kind").string_stats.unique = 2
    statistics.write_bytes(whole.SerializeToString()[:-3])
    artifact = pb.Artifact(type_id=stats_type, uri=str(statistics.parent.parent),
                           state=pb.Artifact.LIVE)
    writer.store.put_execution(execution, [(artifact, writer._event("statistics"))],
                               writer.store.get_contexts_by_execution(execution.id))
    repo = Path(__file__).resolve().parents[4]
    for argv in (["report"], ["lineage", "diff", "latest", "latest"]):
        proc = subprocess.run([sys.executable, "-m", "tabflow.console", *argv, "--output-root",
                               str(tmp_path)], cwd=repo, capture_output=True, text=True,
                              timeout=300, env={**os.environ, "PYTHONPATH": str(repo)})
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        assert proc.stderr.startswith(f"ERROR: {statistics}: not a DatasetFeatureStatisticsList")
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.endswith("(corrupt record at byte 0)\n"), proc.stderr
    assert not (tmp_path / "reports").exists()  # no page built without the statistics
    # The run-end steps (alerts, metrics) read the same review: it notes the file and goes on.
    from tabflow.review.collect import collect
    review = collect(writer.store, "taxi", "run-1")
    assert review["data"]["summary"] == {}
    assert review["unreadable"] == [proc.stderr[len("ERROR: "):-1]]


def test_a_path_that_cannot_be_written_is_one_line_and_exit_2(capsys, curated_copy, tmp_path):
    inferred = _inferred_with_a_new_category(curated_copy, tmp_path)
    (tmp_path / "a-file").write_text("not a folder\n")
    out = tmp_path / "a-file" / "proposal.pbtxt"
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--inferred", str(inferred), "--output", str(out),
                 "--output-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ERROR: {tmp_path / 'a-file'}: "), err
    assert len(err.splitlines()) == 1


def test_models_table_names_the_gated_metric():
    from tabflow.console.models import format_versions
    from tabflow.registry.catalog import Version

    def version(n, title, value):
        return Version(version=n, pushed_model_id=n, model_id=n, destination=f"/s/{n}",
                       pushed_at="2026-12-01T10:00:00", run_id=f"r{n}", span=n,
                       test_metric="accuracy" if title else None, test_title=title,
                       test_value=value, blessed=True, baseline_model_id=None,
                       baseline_version=None, override=False, override_reason="",
                       files_exist=True)

    text = format_versions([version(1, None, None), version(2, "accuracy", 0.97)], "/s")
    assert "test accuracy" in text and "0.9700" in text and "AUC" not in text
    assert version(2, "accuracy", 0.97).to_json()["test_metric"] == "accuracy"


@pytest.mark.parametrize("spec,names", [
    ("label: species\nproblem_type: multiclass\nclasses: [a, b]\n", "classes: a multiclass"),
    ("label: nope\nproblem_type: binary\n", "label: column 'nope' is not in the schema"),
])
def test_a_bad_dataset_spec_stops_the_run_in_one_line(capsys, tmp_path, spec, names):
    """Before anything runs or is recorded: the file and the key at fault, exit 2."""
    folder = tmp_path / "mine"
    shutil.copytree(PipelineConfig().data.dataset.replace("taxi", "penguins"), folder)
    (folder / "dataset.yaml").write_text(spec)
    code = main(["run", "--dataset", str(folder), "--output-root", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and str(folder / "dataset.yaml") in err and names in err, err
    assert not (tmp_path / "out" / "pipeline_root").exists()


def test_resume_is_refused_on_dagster_and_prefect_in_one_line(capsys, tmp_path):
    for runner in ("dagster", "prefect"):
        assert main(["run", "--runner", runner, "--resume", "local-2026-01-01T00:00:00",
                     "--output-root", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ERROR: --resume restarts Local and Beam runs") and \
            err.count("\n") == 1
    assert not any(tmp_path.iterdir())


def test_serving_to_prefect_without_a_server_says_how_to_start_one(capsys, monkeypatch,
                                                                    tmp_path):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve", "prefect", "--output-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "PREFECT_API_URL is not set" in err and "prefect server start" in err
    assert err.count("\n") == 1
