"""A Local/Beam run whose executions never finished is ABANDONED once the process recorded on
its run context is gone, RUNNING while it lives; and `run --resume` refuses what it cannot
resume with one line."""
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tabflow.console import main as console
from tabflow.metadata import runs
from tabflow import contract
from tests.support.mlmd_records import S, sqlite_writer

UNFINISHED = {"CsvExampleGen": S.COMPLETE, "Trainer": S.RUNNING}


@pytest.fixture
def writer(tmp_path):
    return sqlite_writer(tmp_path / "metadata.sqlite")


def dead_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    return {**runs.this_process(), contract.RUN_PID_PROPERTY: child.pid}


def test_run_of_a_dead_process_is_abandoned(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000", UNFINISHED, process=dead_process())
    [run] = runs.list_runs(writer.store, "taxi")
    assert run.status == "ABANDONED"
    assert run.ended is not None
    assert run.components["Trainer"] == "RUNNING"


def test_run_of_a_live_process_is_running(writer):
    writer.ir_run("beam-2026-11-21T08:00:00.000000", UNFINISHED, process=runs.this_process())
    [run] = runs.list_runs(writer.store, "taxi")
    assert (run.status, run.ended) == ("RUNNING", None)


def test_a_reused_pid_is_not_the_run_process(writer):
    reused = {**runs.this_process(), contract.RUN_PROCESS_START_PROPERTY: 1}
    writer.ir_run("local-2026-11-21T08:00:00.000000", UNFINISHED, process=reused)
    assert runs.list_runs(writer.store, "taxi")[0].status == "ABANDONED"


def test_other_hosts_and_unrecorded_runs_are_not_judged(writer):
    elsewhere = {**dead_process(), contract.RUN_HOST_PROPERTY: "another-host"}
    writer.ir_run("local-2026-11-21T08:00:00.000000", UNFINISHED, process=elsewhere)
    writer.ir_run("local-2026-11-21T08:00:01.000000", UNFINISHED)
    writer.airflow_run("manual__2026-11-21T08:00:02+00:00", UNFINISHED)
    assert [r.status for r in runs.list_runs(writer.store, "taxi")] == ["RUNNING"] * 3


def test_failed_and_complete_runs_keep_their_status(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000",
                  {"CsvExampleGen": S.COMPLETE, "Trainer": S.FAILED}, process=dead_process())
    writer.ir_run("local-2026-11-21T08:00:01.000000",
                  {"CsvExampleGen": S.COMPLETE, "Trainer": S.COMPLETE}, process=dead_process())
    assert [r.status for r in runs.list_runs(writer.store, "taxi")] == ["FAILED", "COMPLETE"]


def test_a_node_retried_within_the_run_counts_by_its_newest_execution(writer):
    """Dagster and Prefect retry a node within the run: its failed attempt stays in MLMD."""
    writer.ir_run("dagster-2026-11-21T08:00:00.000000",
                  {"CsvExampleGen": S.COMPLETE, "Trainer": [S.FAILED, S.COMPLETE]},
                  process=dead_process())
    writer.ir_run("prefect-2026-11-21T08:00:01.000000",
                  {"CsvExampleGen": S.COMPLETE, "Trainer": [S.COMPLETE, S.FAILED]},
                  process=dead_process())
    retried, failed = runs.list_runs(writer.store, "taxi")
    assert (retried.status, retried.components["Trainer"]) == ("COMPLETE", "COMPLETE")
    assert (failed.status, failed.components["Trainer"]) == ("FAILED", "FAILED")


def _store_cfg(path):
    return SimpleNamespace(metadata_path=str(path), mysql_host="", mysql_port=3306,
                           mysql_database="", mysql_user="", mysql_password="")


def test_resume_point_is_the_failed_or_unfinished_node(writer, tmp_path):
    from runners.local_runner import resume_point
    writer.ir_run("local-2026-11-21T08:00:00.000000",
                  {"CsvExampleGen": S.COMPLETE, "Trainer": S.FAILED})
    writer.ir_run("beam-2026-11-21T08:00:01.000000", UNFINISHED, process=dead_process())
    config = SimpleNamespace(pipeline_name="taxi", store=_store_cfg(tmp_path / "metadata.sqlite"))
    assert resume_point(config, "local-2026-11-21T08:00:00.000000") == "Trainer"
    assert resume_point(config, "beam-2026-11-21T08:00:01.000000") == "Trainer"


@pytest.mark.parametrize("run_id, states, process, message", [
    ("local-2026-11-21T08:00:00.000000", {"Trainer": S.COMPLETE}, None, "is COMPLETE"),
    ("local-2026-11-21T08:00:00.000000", UNFINISHED, "live", "is RUNNING"),
    ("manual__2026-11-21T08:00:00+00:00", UNFINISHED, "airflow", "only Local and Beam runs resume"),
])
def test_resume_refuses_with_one_line_and_exit_2(writer, tmp_path, capsys, run_id, states,
                                                 process, message):
    if process == "airflow":
        writer.airflow_run(run_id, states)
    else:
        writer.ir_run(run_id, states,
                      process=runs.this_process() if process == "live" else None)
    code = console.main(["run", "--resume", run_id, "--output-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_resume_of_an_unknown_run_exits_1(writer, tmp_path, capsys):
    writer.ir_run("local-2026-11-21T08:00:00.000000", UNFINISHED)
    assert console.main(["run", "--resume", "local-nope", "--output-root", str(tmp_path)]) == 1
    assert "no run 'local-nope'" in capsys.readouterr().err


def _context(writer, run_id):
    return writer.store.get_context_by_type_and_name(contract.IR_RUN_CONTEXT, run_id)


def test_the_next_writer_records_the_abandoned_run_for_every_reader(writer):
    killed, live = "local-2026-11-21T08:00:00.000000", "beam-2026-11-21T08:00:01.000000"
    writer.ir_run(killed, UNFINISHED, process=dead_process())
    writer.ir_run(live, UNFINISHED, process=runs.this_process())
    assert runs.record_abandoned(writer.store, "taxi", "local-2026-11-21T09:00:00.000000") \
        == [killed]
    context = _context(writer, killed)
    assert context.custom_properties[contract.RUN_ABANDONED_PROPERTY].string_value \
        == "local-2026-11-21T09:00:00.000000"
    states = {runs.STATE_NAMES[e.last_known_state]
              for e in writer.store.get_executions_by_context(context.id)}
    assert states == {"COMPLETE", "CANCELED"}
    # Recorded, it no longer depends on this host seeing the process: another host agrees.
    context.custom_properties[contract.RUN_HOST_PROPERTY].string_value = "another-host"
    writer.store.put_contexts([context])
    by_id = {r.run_id: r for r in runs.list_runs(writer.store, "taxi")}
    assert by_id[killed].status == "ABANDONED" and by_id[killed].components["Trainer"] == "CANCELED"
    assert by_id[live].status == "RUNNING"
    # Recorded once: a later writer leaves it alone.
    assert runs.record_abandoned(writer.store, "taxi", "local-2026-11-21T10:00:00.000000") == []


def test_recording_skips_finished_runs_and_marks_ones_killed_after_their_last_node(writer):
    failed, finished, late = ("local-2026-11-21T08:00:00.000000",
                              "local-2026-11-21T08:00:01.000000",
                              "local-2026-11-21T08:00:02.000000")
    writer.ir_run(failed, {"CsvExampleGen": S.COMPLETE, "Trainer": S.FAILED},
                  process=dead_process())
    runs.record_finished(writer.store, failed)
    writer.ir_run(finished, {"CsvExampleGen": S.COMPLETE, "Trainer": S.COMPLETE},
                  process=dead_process())
    runs.record_finished(writer.store, finished)
    writer.ir_run(late, {"CsvExampleGen": S.COMPLETE}, process=dead_process())
    assert runs.record_abandoned(writer.store, "taxi", "local-2026-11-21T09:00:00.000000") == []
    assert _context(writer, late).custom_properties[contract.RUN_FINISHED_PROPERTY].int_value == 1
    assert [r.status for r in runs.list_runs(writer.store, "taxi")] == \
        ["FAILED", "COMPLETE", "COMPLETE"]
    assert not any(contract.RUN_ABANDONED_PROPERTY in _context(writer, r).custom_properties
                   for r in (failed, finished, late))


def test_resume_point_of_a_recorded_run_is_its_cancelled_node(writer, tmp_path):
    from runners.local_runner import resume_point
    writer.ir_run("local-2026-11-21T08:00:00.000000", UNFINISHED, process=dead_process())
    runs.record_abandoned(writer.store, "taxi", "local-2026-11-21T09:00:00.000000")
    config = SimpleNamespace(pipeline_name="taxi", store=_store_cfg(tmp_path / "metadata.sqlite"))
    assert resume_point(config, "local-2026-11-21T08:00:00.000000") == "Trainer"


@pytest.mark.parametrize("key, value", [
    (contract.RUN_PID_NAMESPACE_PROPERTY, "pid:[1]"),        # another container, same host name
    (contract.RUN_BOOT_ID_PROPERTY, "00000000-0000-0000-0000-000000000000"),  # another boot
])
def test_a_dead_pid_of_another_container_or_boot_is_not_judged(writer, key, value):
    """Host name and pid are not enough: a container that shares the host name has pids of its
    own, so a pid missing here may be its live run. That run is neither cancelled nor
    reported ABANDONED."""
    writer.ir_run("local-2026-11-21T08:00:00.000000", UNFINISHED,
                  process={**dead_process(), key: value})
    assert runs.list_runs(writer.store, "taxi")[0].status == "RUNNING"
    assert runs.record_abandoned(writer.store, "taxi", "local-2026-11-21T09:00:00.000000") == []


def test_a_run_elsewhere_whose_lease_ran_out_is_stale_not_abandoned(writer):
    elsewhere = {**runs.this_process(), contract.RUN_HOST_PROPERTY: "another-host"}
    run_id = "local-2026-11-21T08:00:00.000000"
    writer.ir_run(run_id, UNFINISHED, process=elsewhere)
    runs.renew_run_lease(writer.store, run_id, lease_seconds=60)
    assert runs.list_runs(writer.store, "taxi")[0].status == "RUNNING"
    runs.renew_run_lease(writer.store, run_id, lease_seconds=-1)  # the last renewal is past
    [run] = runs.list_runs(writer.store, "taxi")
    assert (run.status, run.ended) == ("STALE", None)
    # Stale is a report, not a verdict: nothing is cancelled on its behalf.
    assert runs.record_abandoned(writer.store, "taxi", "local-2026-11-21T09:00:00.000000") == []
    assert run.components["Trainer"] == "RUNNING"
