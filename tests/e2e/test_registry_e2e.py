"""The served model's registry on the shared store (the three shared runs pushed two versions):
`models`, promote and rollback recorded in MLMD and followed by `lineage trace`, a forced
promote of a model the Evaluator did not bless, and one clear line for each bad argument."""
import json
import os

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from tabflow.metadata.store import open_store
from tabflow import contract as C
from tests.support.pipeline_runs import SMALL, out, with_overrides

pytestmark = pytest.mark.e2e


def _cli(config, capsys, *args, code=0):
    from tabflow.console.main import main
    capsys.readouterr()
    assert main([*args, "--output-root", config.output_root]) == code, capsys.readouterr()
    return capsys.readouterr()


def _models(config, capsys):
    return json.loads(_cli(config, capsys, "models", "--json", "--history").out)


def _changes(config):
    store = open_store(config.store)
    return sorted(store.get_executions_by_type(C.ALIAS_CHANGE_TYPE), key=lambda e: e.id)


@pytest.fixture(scope="module")
def unblessed(retrain_config, three_runs):
    """A model the Evaluator did not bless: more train steps, and an AUC no model reaches."""
    from runners import local_runner
    from tests.support.pipeline_runs import snapshot
    config = with_overrides(retrain_config, train_steps=SMALL["train_steps"] + 40, threshold=1.0)
    return snapshot(config, local_runner.run(config))


def test_models_lists_every_push_with_its_judgement(e2e_config, three_runs, capsys):
    first, second, _ = three_runs
    listing = _models(e2e_config, capsys)
    by_push = {v["pushed_model_id"]: v for v in listing["versions"]}
    v1 = by_push[out(first, "Pusher", "pushed_model").id]
    v2 = by_push[out(second, "Pusher", "pushed_model").id]
    assert v1["run_id"] == first.run_id and v2["run_id"] == second.run_id
    assert v1["model_id"] == out(first, "Trainer", "model").id
    assert v2["baseline_version"] == v1["version"] and v1["baseline_version"] is None
    assert v2["test_metric"] == "auc" and 0.5 < v2["test_value"] <= 1.0 and v1["span"] == v2["span"] is not None
    assert v1["files_exist"] and v2["files_exist"] and v2["blessed"]
    text = _cli(e2e_config, capsys, "models").out
    assert str(v2["version"]) in text and "serving" in text


def test_promote_and_rollback_are_recorded_and_traced(e2e_config, three_runs, capsys):
    first, second, _ = three_runs
    listing = _models(e2e_config, capsys)
    by_push = {v["pushed_model_id"]: v for v in listing["versions"]}
    v1 = by_push[out(first, "Pusher", "pushed_model").id]["version"]
    v2 = by_push[out(second, "Pusher", "pushed_model").id]["version"]
    before = len(_changes(e2e_config))

    said = _cli(e2e_config, capsys, "promote", str(v1), "--alias", "canary",
                "--reason", "try the first model on 5% of traffic").out
    assert f"canary: nothing -> version {v1}" in said
    # Other e2e files may have pushed models of their own since: whatever serves now.
    [current] = [v["version"] for v in listing["versions"] if "serving" in v["aliases"]]
    said = _cli(e2e_config, capsys, "rollback", "--to", str(v1), "--reason", "bad labels").out
    assert f"serving: version {current} -> version {v1}" in said

    changes = _changes(e2e_config)[before:]
    assert [(c.properties["action"].string_value, c.properties["alias"].string_value,
             c.properties["version"].string_value) for c in changes] == [
        ("promote", "canary", str(v1)), ("rollback", "serving", str(v1))]
    assert changes[1].properties["previous_version"].string_value == str(current)
    assert changes[1].properties["reason"].string_value == "bad labels"
    assert changes[1].properties["user"].string_value
    store = open_store(e2e_config.store)
    inputs = {e.path.steps[0].key: e.artifact_id
              for e in store.get_events_by_execution_ids([changes[1].id])}
    assert inputs == {"model": out(first, "Trainer", "model").id,
                      "pushed_model": out(first, "Pusher", "pushed_model").id}

    # TensorFlow Serving's own protos accept the model config, and it says what serves.
    serving_dir = e2e_config.serving_dir
    config = text_format.Parse(open(os.path.join(serving_dir, "models.config")).read(),
                               model_server_config_pb2.ModelServerConfig())
    [model] = config.model_config_list.config
    assert dict(model.version_labels) == {"serving": v1, "canary": v1}
    assert list(model.model_version_policy.specific.versions) == [v1]

    trace = json.loads(_cli(e2e_config, capsys, "lineage", "trace", "serving", "--json").out)
    assert trace["push"]["id"] == out(first, "Pusher", "pushed_model").id
    assert trace["push"]["aliases"] == ["canary", "serving"]
    assert [h["action"] for h in trace["push"]["alias_history"]][-2:] == ["promote", "rollback"]
    history = _models(e2e_config, capsys)["history"]
    assert [(h["alias"], h["version"]) for h in history][-2:] == [("canary", v1),
                                                                 ("serving", v1)]

    # Back to the second model, by the default rule it cannot use (v1 is the oldest): --to.
    _cli(e2e_config, capsys, "rollback", "--reason", "nothing older", code=1)
    _cli(e2e_config, capsys, "promote", str(v2), "--reason", "fixed")


def test_a_forced_promote_of_an_unblessed_model_is_an_override_everywhere(
        e2e_config, unblessed, capsys):
    model = out(unblessed, "Trainer", "model")
    blessing = out(unblessed, "Evaluator", "blessing")
    assert blessing.custom_properties["blessed"].int_value == 0
    refused = _cli(e2e_config, capsys, "promote", f"model:{model.id}", code=2).err
    assert refused.strip().splitlines() == [
        f"ERROR: model {model.id} was not blessed: promote it only with --force and --reason"]
    refused = _cli(e2e_config, capsys, "promote", f"model:{model.id}", "--force", code=2).err
    assert "needs --reason" in refused

    said = _cli(e2e_config, capsys, "promote", f"model:{model.id}", "--force",
                "--reason", "incident 42: the blessed model mis-scores one slice").out
    assert "BLESSING OVERRIDE" in said
    listing = _models(e2e_config, capsys)
    [forced] = [v for v in listing["versions"] if v["model_id"] == model.id]
    assert forced["override"] and "serving" in forced["aliases"] and forced["files_exist"]
    assert forced["override_reason"].startswith("incident 42")
    assert "OVERRIDE" in _cli(e2e_config, capsys, "models").out

    trace = json.loads(_cli(e2e_config, capsys, "lineage", "trace", "serving", "--json").out)
    assert trace["model"]["id"] == model.id and trace["push"]["override"]
    assert trace["blessing"]["blessed"] is False
    assert "BLESSING OVERRIDE" in _cli(e2e_config, capsys, "lineage", "trace", "serving").out

    from tabflow.review.collect import collect
    from tabflow.review.page import render
    review = collect(open_store(e2e_config.store), e2e_config.pipeline_name, unblessed.run_id,
                     e2e_config.serving_dir)
    [entry] = review["registry"]
    assert entry["override"] and entry["history"][-1]["action"] == "promote --force"
    assert "BLESSING OVERRIDE" in render(review)

    # Put the blessed model back, so later tests on this store see an ordinary serving model.
    blessed = [v for v in listing["versions"] if not v["override"]]
    _cli(e2e_config, capsys, "rollback", "--to", str(blessed[-1]["version"]),
         "--reason", "incident closed")


@pytest.mark.parametrize("args, code, message", [
    (["promote", "123"], 1, "no version 123 in"),
    (["promote", "abc"], 2, "expected a version number or model:<artifact id>"),
    (["promote", "model:x"], 2, "expected model:<artifact id>"),
    (["promote", "model:999999"], 1, "no Model artifact with id 999999"),
    (["rollback", "--to", "999"], 1, "no version 999 in"),
    (["gc", "--keep-runs", "-1"], 2, "--keep-runs and --keep-versions must be 0 or more"),
])
def test_bad_arguments_are_one_line(e2e_config, three_runs, capsys, args, code, message):
    err = _cli(e2e_config, capsys, *args, code=code).err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_bad_alias_is_one_line(e2e_config, three_runs, capsys):
    listing = _models(e2e_config, capsys)
    version = str(listing["versions"][0]["version"])
    err = _cli(e2e_config, capsys, "promote", version, "--alias", "a b", code=2).err
    assert "alias 'a b'" in err and len(err.strip().splitlines()) == 1
