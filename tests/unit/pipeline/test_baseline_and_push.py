"""The Evaluator's baseline (pipeline/baseline.py) and the once-per-model Pusher executor
(pipeline/push.py), on real TFX artifacts and a real serving folder."""
import json
import os

from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from tabflow import contract
from pipeline.baseline import BlessedBeforeCandidateStrategy, baseline_for
from pipeline.push import ALREADY_PUSHED_PROPERTY, OncePerModelExecutor, pushed_version_of


def model(artifact_id, tmp_path=None):
    artifact = standard_artifacts.Model()
    artifact.id = artifact_id
    artifact.uri = str(tmp_path / f"model-{artifact_id}") if tmp_path else f"/m/{artifact_id}"
    return artifact


def blessing(model_id, blessed, artifact_id=None, uri="/b"):
    artifact = standard_artifacts.ModelBlessing()
    artifact.id = artifact_id or 1000 + model_id
    artifact.uri = uri
    artifact.set_int_custom_property(contract.CURRENT_MODEL_PROPERTY, model_id)
    artifact.set_int_custom_property(contract.BLESSED_PROPERTY, int(blessed))
    return artifact


def test_first_model_and_its_rerun_have_no_baseline():
    m1 = model(1)
    assert baseline_for([m1], [m1], []) == {"model": [], "model_blessing": [], "candidate": [m1]}
    # An unchanged rerun: the candidate is the blessed model itself.
    assert baseline_for([m1], [m1], [blessing(1, True)])["model"] == []


def test_baseline_is_the_newest_blessed_model_older_than_the_candidate():
    m1, m2, m3, m4 = model(1), model(2), model(3), model(4)
    blessings = [blessing(1, True), blessing(2, True), blessing(3, False)]
    result = baseline_for([m4], [m1, m2, m3, m4], blessings)
    assert [a.id for a in result["model"]] == [2]
    assert [a.id for a in result["model_blessing"]] == [1002]
    # An older model rerun is judged against what was blessed before it, not after.
    assert [a.id for a in baseline_for([m2], [m1, m2, m3, m4], blessings)["model"]] == [1]


def test_strategy_reads_its_input_keys():
    m1, m2 = model(1), model(2)
    resolved = BlessedBeforeCandidateStrategy().resolve_artifacts(
        None, {"model": [m1, m2], "model_blessing": [blessing(1, True)], "candidate": [m2]})
    assert [a.id for a in resolved["model"]] == [1]
    assert BlessedBeforeCandidateStrategy().resolve_artifacts(
        None, {"model": [m1], "model_blessing": [], "candidate": []}) == {
        "model": [], "model_blessing": [], "candidate": []}


def _push(tmp_path, model_artifact, blessed=True):
    saved = tmp_path / f"src-{model_artifact.id}" / "Format-Serving"
    saved.mkdir(parents=True, exist_ok=True)
    (saved / "saved_model.pb").write_bytes(b"pb")
    model_artifact.uri = str(saved.parent)
    bless_dir = tmp_path / f"blessing-{model_artifact.id}"
    bless_dir.mkdir(exist_ok=True)
    if blessed:
        (bless_dir / "BLESSED").write_text("")
    push = standard_artifacts.PushedModel()
    push.uri = str(tmp_path / f"pushed-{model_artifact.id}-{len(os.listdir(tmp_path))}")
    destination = pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
        base_directory=str(tmp_path / "serving")))
    OncePerModelExecutor().Do(
        {"model": [model_artifact],
         "model_blessing": [blessing(model_artifact.id, blessed, uri=str(bless_dir))]},
        {"pushed_model": [push]},
        {"push_destination": proto_utils.proto_to_json(destination)})
    return push


def test_a_model_is_written_to_serving_once(tmp_path):
    m1 = model(1)
    first = _push(tmp_path, m1)
    assert first.get_int_custom_property("pushed") == 1
    version = first.get_string_custom_property("pushed_version")
    assert pushed_version_of(str(tmp_path / "serving"), m1.uri) == version
    record = json.loads((tmp_path / "serving" / ".model-sources" / f"{version}.json").read_text())
    assert record == {"version": version, "model_uri": m1.uri,
                      "pushed_model_uri": first.uri}
    assert first.get_string_custom_property("pushed_destination") == str(
        tmp_path / "serving" / version)
    assert os.path.isfile(os.path.join(first.uri, "saved_model.pb"))  # the archive copy

    again = _push(tmp_path, m1)  # blessed again: the same model, no second version
    assert again.get_int_custom_property("pushed") == 0
    assert again.get_string_custom_property(ALREADY_PUSHED_PROPERTY) == version
    assert sorted(p for p in os.listdir(tmp_path / "serving") if p.isdigit()) == [version]


def test_an_unblessed_model_is_not_pushed(tmp_path):
    push = _push(tmp_path, model(3), blessed=False)
    assert push.get_int_custom_property("pushed") == 0
    assert not (tmp_path / "serving").exists()


def test_two_pushes_in_one_second_get_two_versions_and_the_serving_alias(tmp_path, monkeypatch):
    import time
    from tabflow.registry import serving
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    first, second = _push(tmp_path, model(1)), _push(tmp_path, model(2))
    versions = [p.get_string_custom_property("pushed_version") for p in (first, second)]
    assert versions == ["1800000000", "1800000001"]
    assert serving.read_labels(str(tmp_path / "serving")) == {"serving": 1800000001}
    assert not [p for p in os.listdir(tmp_path / "serving") if p.startswith(".incoming")]
