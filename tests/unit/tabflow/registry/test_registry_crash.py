"""The registry lock and the journal (tabflow/registry/lock.py, journal.py, consistency.py, pushes.py):
a push or promote killed with SIGKILL at each window leaves a state the next command repairs or
reports, on a real MLMD SQLite store and real version folders; files are readable by others
whatever the umask."""
import json
from pathlib import Path
import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from tabflow import contract as C
from tabflow.registry import aliases, catalog, consistency, journal, pushes, serving
from tabflow.registry.lock import RegistryBusy, serving_lock

ROOT = str(Path(__file__).resolve().parents[4])


def _connection(path):
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return config


def _saved_model(folder, payload):
    (folder / "variables").mkdir(parents=True)
    (folder / "variables" / "variables.index").write_bytes(payload)
    (folder / "saved_model.pb").write_bytes(b"pb")
    return str(folder)


def record_push(store, serving_dir, version, model_uri):
    """What TFX records after the Pusher's executor returns: the Pusher execution, its Model
    input and its PushedModel output."""
    model_type = store.put_artifact_type(pb.ArtifactType(name=C.MODEL_TYPE))
    pushed_type = store.put_artifact_type(pb.ArtifactType(name=C.PUSHED_MODEL_TYPE))
    pusher = store.put_execution_type(pb.ExecutionType(name="Pusher"))
    context = store.get_context_by_type_and_name(C.PIPELINE_CONTEXT, "taxi")
    [model] = [a for a in store.get_artifacts_by_uri(model_uri)] or [
        pb.Artifact(type_id=model_type, uri=model_uri, state=pb.Artifact.LIVE)]
    destination = os.path.join(serving_dir, str(version))
    pushed = pb.Artifact(type_id=pushed_type, uri=destination + ".archive",
                         state=pb.Artifact.LIVE)
    pushed.custom_properties[C.PUSHED_PROPERTY].int_value = 1
    pushed.custom_properties[C.PUSHED_DESTINATION_PROPERTY].string_value = destination
    pushed.custom_properties[C.PUSHED_VERSION_PROPERTY].string_value = str(version)

    def event(kind, key):
        e = pb.Event(type=kind)
        e.path.steps.add().key = key
        e.path.steps.add().index = 0
        return e
    store.put_execution(pb.Execution(type_id=pusher, last_known_state=pb.Execution.COMPLETE),
                        [(model, event(pb.Event.INPUT, C.PUSHER_INPUT_MODEL)),
                         (pushed, event(pb.Event.OUTPUT, C.PUSHED_MODEL_KEY))], [context])


@pytest.fixture
def registry(tmp_path):
    """A serving folder with two recorded pushes (the second serving) and its store."""
    store = metadata_store.MetadataStore(_connection(tmp_path / "mlmd.sqlite"))
    kind = store.put_context_type(pb.ContextType(name=C.PIPELINE_CONTEXT))
    store.put_contexts([pb.Context(type_id=kind, name="taxi")])
    serving_dir = str(tmp_path / "serving" / "taxi")
    versions = []
    for i in (1, 2):
        model = _saved_model(tmp_path / f"model-{i}" / aliases.SERVING_SUBFOLDER, bytes([i]) * 50)
        version = pushes.publish(serving_dir, model, os.path.dirname(model), f"/pushed/{i}")
        record_push(store, serving_dir, version, os.path.dirname(model))
        versions.append(version)
    return store, serving_dir, versions, tmp_path


def _crash(tmp_path, window, code):
    """Runs `code` in a process that SIGKILLs itself at `window`; returns after it died."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from ml_metadata import metadata_store
        from tests.unit.tabflow.registry.test_registry_crash import _connection
        store = metadata_store.MetadataStore(_connection({str(tmp_path / "mlmd.sqlite")!r}))
    """) + textwrap.dedent(code)
    env = {**os.environ, journal.CRASH_VARIABLE: window}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, (window, done.stdout, done.stderr[-2000:])


def _alias_changes(store):
    return catalog.alias_changes(store)


@pytest.mark.parametrize("window, repaired, canary, recorded", [
    ("alias-journaled", "repaired: the promote --force of canary", False, 0),
    ("alias-config-written", "canary removed from", False, 0),
    ("alias-recorded", "completed: the promote --force of canary", True, 1),
])
def test_a_promote_killed_at_each_window_is_settled_by_the_next_command(
        registry, window, repaired, canary, recorded):
    store, serving_dir, (v1, v2), tmp_path = registry
    _crash(tmp_path, window, f"""
        from tabflow.registry import aliases
        aliases.promote(store, "taxi", {serving_dir!r}, "{v1}", alias="canary", force=True,
                        reason="try it")
    """)
    assert journal.entries(serving_dir), "the killed promote left no journal entry"
    # The next command (here a rollback of serving, as `rollback` runs it) settles it first.
    change = aliases.rollback(store, "taxi", serving_dir, to=v1, reason="bad")
    assert len(change.notes) == 1 and repaired in change.notes[0], change.notes
    labels = serving.read_labels(serving_dir)
    assert labels.get("canary") == (v1 if canary else None)
    assert labels["serving"] == v1
    assert [e.properties["alias"].string_value for e in _alias_changes(store)] == \
        ["canary"] * recorded + ["serving"]
    assert journal.entries(serving_dir) == []
    assert consistency.check(store, serving_dir) == []


@pytest.mark.parametrize("window", ["alias-journaled", "alias-installed",
                                    "alias-config-written"])
def test_a_forced_promote_of_a_model_killed_before_mlmd_removes_the_version_it_installed(
        registry, window):
    store, serving_dir, (v1, v2), tmp_path = registry
    model = _saved_model(tmp_path / "model-3" / aliases.SERVING_SUBFOLDER, b"3" * 50)
    model_type = store.get_artifact_type(C.MODEL_TYPE)
    [model_id] = store.put_artifacts([pb.Artifact(type_id=model_type.id, state=pb.Artifact.LIVE,
                                                  uri=os.path.dirname(model))])
    _crash(tmp_path, window, f"""
        from tabflow.registry import aliases
        aliases.promote(store, "taxi", {serving_dir!r}, "model:{model_id}", force=True,
                        reason="incident")
    """)
    with serving_lock(serving_dir, "models", 5):
        notes = consistency.settle(store, serving_dir)
    assert len(notes) == 1 and notes[0].startswith("repaired: the promote --force of serving")
    assert serving.versions(serving_dir) == [v1, v2]
    assert sorted(serving.records(serving_dir)) == [v1, v2]
    assert serving.read_labels(serving_dir) == {"serving": v2}
    assert not [n for n in os.listdir(serving_dir) if n.startswith(".incoming")]
    assert consistency.check(store, serving_dir) == []


@pytest.mark.parametrize("window", ["push-journaled", "push-installed", "push-recorded",
                                    "push-config-written"])
def test_a_push_killed_at_each_window_is_undone_by_the_next_push(registry, window, caplog):
    store, serving_dir, (v1, v2), tmp_path = registry
    model = _saved_model(tmp_path / "model-3" / aliases.SERVING_SUBFOLDER, b"3" * 50)
    _crash(tmp_path, window, f"""
        from tabflow.registry import pushes
        pushes.publish({serving_dir!r}, {model!r}, {os.path.dirname(model)!r}, "/pushed/3")
    """)
    # The next run pushes the same model again: a new version, recorded, serving it.
    v3 = pushes.publish(serving_dir, model, os.path.dirname(model), "/pushed/3b")
    assert [r.message for r in caplog.records if "repaired" in r.message]
    record_push(store, serving_dir, v3, os.path.dirname(model))
    assert serving.versions(serving_dir) == [v1, v2, v3]
    assert serving.read_labels(serving_dir) == {"serving": v3}
    assert serving.records(serving_dir)[v3].pushed_model_uri == "/pushed/3b"
    assert journal.entries(serving_dir) == []
    assert consistency.check(store, serving_dir) == []


def test_a_push_killed_before_tfx_records_it_is_reported(registry):
    store, serving_dir, (v1, v2), tmp_path = registry
    model = _saved_model(tmp_path / "model-3" / aliases.SERVING_SUBFOLDER, b"3" * 50)
    _crash(tmp_path, "after-publish", f"""
        import os, signal
        from tabflow.registry import pushes
        pushes.publish({serving_dir!r}, {model!r}, {os.path.dirname(model)!r}, "/pushed/3")
        if os.environ.get("TABFLOW_TEST_CRASH_AT") == "after-publish":
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    [v3] = [v for v in serving.versions(serving_dir) if v not in (v1, v2)]
    with serving_lock(serving_dir, "models", 5):
        notes = consistency.settle(store, serving_dir)
    assert notes == [
        f"inconsistent: version {v3} in {serving_dir} (model {os.path.dirname(model)}) has no "
        f"push recorded in MLMD: `models` does not list it and gc never removes it",
        f"inconsistent: models.config points serving at version {v3}, which has no push "
        f"recorded in MLMD"]


def test_an_alias_edited_by_hand_and_a_lost_config_write_are_reported(registry):
    store, serving_dir, (v1, v2), _ = registry
    aliases.promote(store, "taxi", serving_dir, str(v1), alias="canary", force=True, reason="r")
    serving.write_labels(serving_dir, {"serving": v2, "shadow": v1})  # canary lost, shadow new
    lines = consistency.check(store, serving_dir)
    assert len(lines) == 2
    assert "last change of canary" in lines[0] and f"at version {v1}" in lines[0]
    assert "points shadow at version" in lines[1] and "no push, promote or rollback" in lines[1]


def test_the_lock_names_its_holder_and_frees_on_kill(registry):
    store, serving_dir, (v1, v2), tmp_path = registry
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {ROOT!r})
        from tabflow.registry.lock import serving_lock
        with serving_lock({serving_dir!r}, "gc", 1):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(RegistryBusy) as busy:
            aliases.promote(store, "taxi", serving_dir, str(v1), alias="canary", force=True,
                            reason="r", wait_seconds=0.5)
        assert time.monotonic() - started < 5
        message = str(busy.value)
        assert "\n" not in message and f"gc (pid {holder.pid} on" in message
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the dead holder's lock: no stale lock to clear.
    aliases.promote(store, "taxi", serving_dir, str(v1), alias="canary", force=True,
                    reason="r", wait_seconds=0)
    assert serving.read_labels(serving_dir)["canary"] == v1


def test_the_console_exits_2_with_one_line_when_busy(registry, capsys):
    from tabflow.console.models import _settle
    store, serving_dir, _, _ = registry
    with serving_lock(serving_dir, "push", 1):
        # A second open file description in this process conflicts as another process would.
        with pytest.raises(RegistryBusy, match=r"is busy: push \(pid"):
            _settle(store, serving_dir, "models", 0.2)


def test_files_and_folders_are_readable_by_others_under_umask_077(tmp_path):
    model = _saved_model(tmp_path / "model", b"x")
    os.chmod(os.path.join(model, "saved_model.pb"), 0o600)
    serving_dir = str(tmp_path / "out" / "serving" / "taxi")
    old = os.umask(0o077)
    try:
        version = pushes.publish(serving_dir, model, "/m/1", "/p/1")
    finally:
        os.umask(old)
    def mode(*parts):
        return stat.S_IMODE(os.stat(os.path.join(serving_dir, *parts)).st_mode)
    assert mode() == 0o755 and mode("..") == 0o755
    assert mode(str(version)) == mode(str(version), "variables") == 0o755
    assert mode(str(version), "saved_model.pb") == 0o644
    assert mode(str(version), "variables", "variables.index") == 0o644
    assert mode(C.MODEL_CONFIG_FILE) == 0o644
    assert mode(C.MODEL_SOURCES_FOLDER) == 0o755
    assert mode(C.MODEL_SOURCES_FOLDER, f"{version}.json") == 0o644
    assert json.loads(open(serving.record_path(serving_dir, version)).read())["model_uri"] == "/m/1"
