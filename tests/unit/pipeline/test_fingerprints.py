"""Per-node code fingerprints: editing a file changes the cache key of exactly the nodes that
run it; the lock file changes every node that carries a fingerprint."""
import shutil

import pytest

from tabflow import contract as C
from pipeline import fingerprints
from tabflow.config import PipelineConfig
from pipeline.fingerprints import PROJECT_PACKAGES, PROJECT_ROOT


@pytest.fixture
def project_copy(tmp_path):
    root = tmp_path / "project"
    for package in PROJECT_PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(PROJECT_ROOT / fingerprints.LOCK_FILE, root / fingerprints.LOCK_FILE)
    shutil.copytree(PROJECT_ROOT / "data" / "taxi", root / "data" / "taxi",
                    ignore=shutil.ignore_patterns("__pycache__", "span-1", "span-2", "span-3"))
    return root


def _exec_properties(monkeypatch, root, output_root, dataset=PROJECT_ROOT / "data" / "taxi"):
    from pipeline import inputs
    from pipeline import pipeline as definition
    monkeypatch.setattr(inputs, "component_fingerprints",
                        lambda: fingerprints.component_fingerprints(root))
    config = PipelineConfig.from_flat(output_root=str(output_root), dataset=str(dataset))
    return {node.id: {k: str(v) for k, v in node.exec_properties.items()}
            for node in definition.create_pipeline(config, inputs.gather(config)).components}


def _changed_by(monkeypatch, root, tmp_path, edit):
    dataset = root / "data" / "taxi"
    before = _exec_properties(monkeypatch, root, tmp_path / "out", dataset)
    path = root / edit
    path.write_text(path.read_text() + "\n# edited\n")
    after = _exec_properties(monkeypatch, root, tmp_path / "out", dataset)
    assert before.keys() == after.keys()
    return {node for node in before if before[node] != after[node]}


@pytest.mark.parametrize("edit, nodes", [
    # Evaluator and Pusher re-run too: their model input is new once Trainer re-ran.
    ("modules/trainer.py", {C.TRAINER}),
    # Tuner and Trainer re-run through their inputs (new transform graph and examples).
    ("modules/transform.py", {C.TRANSFORM}),
    # The tuning reuse resolver looks for searches under the tuner's code fingerprint.
    ("modules/model.py", {C.TUNING_REUSE, C.TUNER, C.TRAINER}),
    ("modules/features.py", {C.TRANSFORM, C.TUNING_REUSE, C.TUNER, C.TRAINER}),
    # A dataset's hooks: the gate derives the label with them, the model code its inputs; the
    # run's provenance records their hash.
    ("data/taxi/hooks.py", {C.PROVENANCE, C.ANOMALY_GATE, C.TRANSFORM, C.TUNING_REUSE, C.TUNER,
                            C.TRAINER}),
    ("pipeline/push.py", {C.PUSHER}),
    ("pipeline/drift_gate.py", {C.DRIFT_GATE}),
    ("pipeline/csv_check.py", {C.CURATED_SCHEMA, C.CSV_CHECK, C.ANOMALY_GATE}),
    # The library adaptations (tabflow/compat/): each in the nodes that import it.
    ("tabflow/compat/autograph.py", {C.TUNING_REUSE, C.TUNER, C.TRAINER}),
    ("tabflow/compat/tuner.py", {C.TUNING_REUSE, C.TUNER}),
    ("tabflow/compat/pusher.py", {C.PUSHER}),
    ("tabflow/compat/schema_gen.py", {C.CURATED_SCHEMA, C.CSV_CHECK, C.ANOMALY_GATE}),
    ("tabflow/compat/example_gen_span.py", {C.CURATED_SCHEMA, C.CSV_CHECK, C.ANOMALY_GATE}),
    # The gates import the artifact readers, which load TFMA's protos through it.
    ("tabflow/compat/tfma_protos.py", {C.CURATED_SCHEMA, C.CSV_CHECK, C.ANOMALY_GATE,
                                       C.DRIFT_GATE}),
    ("tabflow/compat/__init__.py", {C.CURATED_SCHEMA, C.CSV_CHECK, C.ANOMALY_GATE, C.DRIFT_GATE,
                                    C.TUNING_REUSE, C.TUNER, C.TRAINER, C.PUSHER}),
    # Run by the definition (CsvExampleGen's fingerprint parameter) or by the runners only.
    ("tabflow/compat/example_gen.py", set()),
    ("tabflow/compat/legacy_launcher.py", set()),
    ("tabflow/compat/portable_run.py", set()),
    # Every node that runs code of ours or a pinned library carries the lock file's hash; the
    # rest (StatisticsGen, SchemaGen, ExampleValidator, Evaluator) read a new ExampleGen or
    # Trainer output, so a lock change re-runs everything. RunProvenance here still records
    # the real project's files.
    (fingerprints.LOCK_FILE, set(fingerprints.COMPONENT_CODE) - {C.PROVENANCE}
     | {C.TUNING_REUSE}),
])
def test_an_edit_changes_exactly_the_nodes_that_run_it(monkeypatch, project_copy, tmp_path,
                                                      edit, nodes):
    assert _changed_by(monkeypatch, project_copy, tmp_path, edit) == nodes


def test_an_unrelated_edit_changes_no_node(monkeypatch, project_copy, tmp_path):
    assert _changed_by(monkeypatch, project_copy, tmp_path, "tabflow/metadata/runs.py") == set()


def test_a_new_import_is_covered_without_a_list(project_copy):
    trainer = project_copy / "modules" / "trainer.py"
    assert "modules/schedules.py" not in fingerprints.code_files(["modules.trainer"], project_copy)
    (project_copy / "modules" / "schedules.py").write_text("STEPS = 1\n")
    trainer.write_text("from modules import schedules\n" + trainer.read_text())
    files = fingerprints.code_files(["modules.trainer"], project_copy)
    assert "modules/schedules.py" in files
    assert fingerprints.LOCK_FILE in files


def test_entry_modules_are_the_ones_the_definition_names():
    """The dotted paths TFX imports, and each custom component's own module, are fingerprinted."""
    from pipeline import components, drift_gate, provenance, push, tuning
    from pipeline import pipeline as definition
    code = fingerprints.COMPONENT_CODE
    for node, dotted in ((C.TRANSFORM, definition.PREPROCESSING_FN),
                         (C.TUNER, definition.TUNER_FN), (C.TRAINER, definition.RUN_FN)):
        assert code[node][0] == dotted.rpartition(".")[0]
    for node, component in ((C.CSV_CHECK, components.CsvCheck),
                            (C.ANOMALY_GATE, components.AnomalyGate),
                            (C.CURATED_SCHEMA, components.CuratedSchemaGen),
                            (C.DRIFT_GATE, drift_gate.DriftGate),
                            (C.PUSHER, push.OncePerModelExecutor),
                            (C.TUNER, tuning.PolicyTuner),
                            (C.PROVENANCE, provenance.RunProvenance)):
        assert component.__module__ in code[node], node


def test_provenance_records_every_fingerprinted_file():
    from pipeline.provenance import tracked_files
    files = tracked_files(PipelineConfig().data.schema_path)
    assert set(fingerprints.pipeline_code_files()) <= set(files)
    assert {"modules/trainer.py", "pipeline/push.py", fingerprints.LOCK_FILE} <= set(files)


def test_provenance_without_git_takes_the_commit_the_image_was_built_from(monkeypatch,
                                                                           tmp_path):
    """In the container image there is no .git: the Dockerfile's GIT_COMMIT build argument,
    as TAXI_GIT_COMMIT, names the commit; the dirty flag is unknown (-1)."""
    from pipeline import provenance
    from tabflow.config import PipelineConfig
    from tabflow import dataset
    config = PipelineConfig.from_flat(output_root=str(tmp_path))
    spec = dataset.load(config.data.dataset)
    monkeypatch.setattr(provenance, "_git", lambda *args: "")
    record = provenance.collect(config, "vertex", spec,
                                environ={provenance.COMMIT_VARIABLE: "0a1b2c"})
    assert (record["git_commit"], record["git_dirty"]) == ("0a1b2c", -1)
    assert provenance.collect(config, "vertex", spec, environ={})["git_commit"] == "unknown"
    # With a work tree, git's own answer wins over the variable.
    monkeypatch.undo()
    with_git = provenance.collect(config, "local", spec,
                                  environ={provenance.COMMIT_VARIABLE: "x"})
    assert with_git["git_commit"] not in ("x", "unknown")
