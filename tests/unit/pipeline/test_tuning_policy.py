"""The tuning policy (pipeline/tuning.py): which earlier search a run may reuse, and the Tuner
executor's reuse path on real TFX artifacts and files."""
import json
import os

import pytest
from tfx.types import standard_artifacts

from tabflow import config as config_lib
from tabflow import contract as C
from pipeline.tuning import (PREVIOUS_KEY, TUNING_KEY_PARAMETER,
                             PolicyTunerExecutor, ReusableTuningStrategy, reusable_search,
                             tuning_key)

KEY = "k1"


def examples(artifact_id, span):
    artifact = standard_artifacts.Examples()
    artifact.id = artifact_id
    artifact.set_int_custom_property(C.SPAN_PROPERTY, span)
    return artifact


def searched(artifact_id, span, key=KEY, uri="/h"):
    artifact = standard_artifacts.HyperParameters()
    artifact.id = artifact_id
    artifact.uri = uri
    artifact.set_string_custom_property(C.TUNING_KEY_PROPERTY, key)
    artifact.set_int_custom_property(C.TUNED_ON_SPAN_PROPERTY, span)
    artifact.set_int_custom_property(C.TUNING_REUSED_FROM_PROPERTY, 0)
    artifact.set_string_custom_property(C.TUNED_IN_RUN_PROPERTY, f"run-{artifact_id}")
    return artifact


def reused(artifact_id, source):
    artifact = searched(artifact_id, source.get_int_custom_property(C.TUNED_ON_SPAN_PROPERTY))
    artifact.set_int_custom_property(C.TUNING_REUSED_FROM_PROPERTY, source.id)
    return artifact


def ids(found):
    return None if found is None else found.id


def test_first_run_and_its_rerun_search():
    # Nothing older than the run's Examples: search; an unchanged rerun sees the same.
    assert reusable_search([examples(10, 1)], [], KEY, 7) is None
    assert reusable_search([examples(10, 1)], [searched(20, 1)], KEY, 7) is None


def test_a_new_span_reuses_the_newest_search_under_the_same_key():
    h1, h2 = searched(20, 1), searched(40, 2)
    assert ids(reusable_search([examples(50, 3)], [h1, h2], KEY, 7)) == 40
    # A reuse is never itself reused: the search it copied is.
    assert ids(reusable_search([examples(50, 3)], [h1, reused(45, h1)], KEY, 7)) == 20
    # The newest Examples is the current one (Airflow's legacy driver passes them all).
    assert ids(reusable_search([examples(10, 1), examples(50, 3)], [h1], KEY, 7)) == 20


def test_changed_key_or_enough_spans_search_again():
    h1 = searched(20, 1)
    assert reusable_search([examples(50, 3)], [h1], "other", 7) is None
    assert ids(reusable_search([examples(50, 7)], [h1], KEY, 7)) == 20  # 6 spans on
    assert reusable_search([examples(50, 8)], [h1], KEY, 7) is None  # 7 spans on
    assert reusable_search([examples(50, 2)], [h1], KEY, 1) is None  # every span
    assert ids(reusable_search([examples(50, 99)], [h1], KEY, 0)) == 20  # never by span
    # A search on a later span does not serve an older span's rerun.
    assert reusable_search([examples(50, 1)], [searched(20, 2)], KEY, 7) is None
    # Examples without a span (not from ExampleGen): search.
    assert reusable_search([standard_artifacts.Examples()], [h1], KEY, 7) is None


def test_strategy_returns_every_input_key():
    current = examples(50, 2)
    strategy = ReusableTuningStrategy(tuning_key=KEY, retune_every_spans=7)
    resolved = strategy.resolve_artifacts(None, {C.BEST_HYPERPARAMETERS_KEY: [searched(20, 1)],
                                                 C.EXAMPLES_KEY: [current]})
    assert [a.id for a in resolved[C.BEST_HYPERPARAMETERS_KEY]] == [20]
    assert resolved[C.EXAMPLES_KEY] == [current]
    assert strategy.resolve_artifacts(None, {C.BEST_HYPERPARAMETERS_KEY: [],
                                             C.EXAMPLES_KEY: [current]}) == {
        C.BEST_HYPERPARAMETERS_KEY: [], C.EXAMPLES_KEY: [current]}


def test_key_follows_code_schema_and_tuning_settings_not_the_training_budget():
    training = config_lib.PipelineConfig().training
    base = tuning_key("code", "schema", training)
    assert tuning_key("code", "schema", training) == base
    assert tuning_key("code2", "schema", training) != base
    assert tuning_key("code", "schema2", training) != base
    for field in ("tuner_trials", "tuner_train_steps", "tuner_eval_steps", "batch_size"):
        changed = training.__class__(**{**training.__dict__,
                                        field: getattr(training, field) + 1})
        assert tuning_key("code", "schema", changed) != base, field
    longer = training.__class__(**{**training.__dict__, "train_steps": 5,
                                   "retune_every_spans": 2})
    assert tuning_key("code", "schema", longer) == base


def test_executor_copies_the_resolved_search_and_says_where_it_came_from(tmp_path):
    source = searched(20, 1, uri=str(tmp_path / "h1"))
    os.makedirs(source.uri)
    values = {"space": [], "values": {"hidden_units": 128, "num_layers": 1}}
    (tmp_path / "h1" / C.HYPERPARAMETERS_FILE).write_text(json.dumps(values))
    best = standard_artifacts.HyperParameters()
    best.uri = str(tmp_path / "out" / "best")
    results = standard_artifacts.TunerResults()
    results.uri = str(tmp_path / "out" / "results")
    PolicyTunerExecutor().Do(
        {PREVIOUS_KEY: [source], C.EXAMPLES_KEY: [examples(50, 3)]},
        {C.BEST_HYPERPARAMETERS_KEY: [best], C.TUNER_RESULTS_KEY: [results]},
        {TUNING_KEY_PARAMETER: KEY})
    assert json.loads((tmp_path / "out" / "best" / C.HYPERPARAMETERS_FILE).read_text()) == values
    assert json.loads((tmp_path / "out" / "results" / C.TUNER_RESULTS_FILE).read_text()) == []
    assert best.get_int_custom_property(C.TUNING_REUSED_FROM_PROPERTY) == 20
    assert best.get_int_custom_property(C.TUNED_ON_SPAN_PROPERTY) == 1
    assert best.get_string_custom_property(C.TUNED_IN_RUN_PROPERTY) == "run-20"
    assert best.get_string_custom_property(C.TUNING_KEY_PROPERTY) == KEY


@pytest.mark.parametrize("value,ok", [(0, True), (7, True), (-1, False)])
def test_retune_every_spans_is_validated(value, ok):
    config = config_lib.PipelineConfig()
    config.training.retune_every_spans = value
    if ok:
        config.validate()
    else:
        with pytest.raises(ValueError, match="retune_every_spans"):
            config.validate()
