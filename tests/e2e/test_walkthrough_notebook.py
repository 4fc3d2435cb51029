"""End-to-end: the InteractiveContext walkthrough notebook, executed top to bottom in a kernel.

The notebook runs with the small e2e sizes (TAXI_* environment variables) in a fresh output
root; the tests then read the interactive MLMD store it wrote and the outputs it displayed.
A second execution in the same output root (a data scientist's "Run All" again) must reuse
every result. Each executed notebook is written next to its output root; the paths and wall
times are listed at the end of pytest's output.
"""
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tabflow import dataset
from tabflow.artifacts.evaluation import metrics_by_slice
from tabflow.artifacts.schema import load_schema
from tabflow.config import PipelineConfig
from tests.support.default_dataset import facts
from tests.support.notebooks import REPO, execute_notebook
from tests.support.pipeline_runs import COMPONENTS, DRIFT_RESOLVER, RESOLVER, RESOLVERS, SMALL

pytestmark = pytest.mark.e2e

NOTEBOOK = REPO / "notebooks" / "interactive_walkthrough.ipynb"
STATE = {v: k for k, v in mlmd_pb2.Execution.State.items()}
# The notebook's configuration but for the sizes and output root _execute sets: its dataset and
# pipeline name are the defaults.
DEFAULTS = PipelineConfig()


def _execute(root: Path, name: str) -> dict:
    env = {f"TAXI_{key.upper()}": str(value) for key, value in SMALL.items()}
    env["TAXI_OUTPUT_ROOT"] = str(root / "outputs")
    # Kept under outputs/ (ignored by git) so a reviewer can open it after the suite.
    executed = REPO / "outputs" / "notebooks" / f"{name}.executed.ipynb"
    with pytest.MonkeyPatch.context() as mp:
        # Only this test's settings reach the notebook's config.
        for key in [k for k in os.environ if k.startswith(("TABFLOW_", "TAXI_"))]:
            mp.delenv(key)
        start = time.monotonic()
        nb = execute_notebook(NOTEBOOK, env, executed)
        seconds = time.monotonic() - start
    print(f"\n{name}: notebook executed in {seconds:.0f} s: {executed}")
    return {"nb": nb, "output_root": root / "outputs", "path": executed, "seconds": seconds}


def _open_store(output_root: Path):
    path = output_root / "interactive" / "metadata.sqlite"
    assert path.is_file(), f"the notebook wrote no interactive MLMD store at {path}"
    cc = mlmd_pb2.ConnectionConfig()
    cc.sqlite.filename_uri = str(path)
    cc.sqlite.connection_mode = mlmd_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(cc)


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory):
    """The notebook, top to bottom, in a fresh output root."""
    run = _execute(tmp_path_factory.mktemp("walkthrough"), "walkthrough")
    run["execution_ids"] = {e.id for e in _open_store(run["output_root"]).get_executions()}
    return run


@pytest.fixture(scope="module")
def rerun(walkthrough):
    """The notebook again, same settings and output root: what a data scientist does most."""
    run = _execute(walkthrough["output_root"].parent, "walkthrough-rerun")
    run["execution_ids"] = ({e.id for e in _open_store(run["output_root"]).get_executions()}
                            - walkthrough["execution_ids"])
    return run


@pytest.fixture(scope="module")
def store(walkthrough):
    return _open_store(walkthrough["output_root"])


def _executions_by_component(store, run):
    """{component_id: [executions]} of one execution of the notebook."""
    out = {}
    for e in store.get_executions_by_id(sorted(run["execution_ids"])):
        out.setdefault(e.properties["component_id"].string_value, []).append(e)
    return out


def _output(store, execution, key):
    """The one artifact `execution` published under output key `key`."""
    ids = [ev.artifact_id for ev in store.get_events_by_execution_ids([execution.id])
           if ev.type == mlmd_pb2.Event.OUTPUT and ev.path.steps
           and ev.path.steps[0].key == key]
    assert len(ids) == 1, f"execution {execution.id}: {len(ids)} outputs under {key!r}"
    return store.get_artifacts_by_id(ids)[0]


def _upstream_artifact_ids(store, artifact_id):
    """Every artifact some chain of executions turned into `artifact_id` (walked event by event)."""
    seen, frontier = set(), [artifact_id]
    while frontier:
        events = store.get_events_by_artifact_ids(frontier)
        producers = {ev.execution_id for ev in events if ev.type == mlmd_pb2.Event.OUTPUT}
        frontier = []
        if producers:
            for ev in store.get_events_by_execution_ids(sorted(producers)):
                if ev.type == mlmd_pb2.Event.INPUT and ev.artifact_id not in seen:
                    seen.add(ev.artifact_id)
                    frontier.append(ev.artifact_id)
    return seen


def _cell(nb, tag):
    [cell] = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert cell.outputs, f"cell {tag!r} displayed nothing"
    return cell


def _texts(cell, mime):
    """The cell's outputs of type `mime`, one text per output (streams count as text/plain)."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream" and mime == "text/plain":
            parts.append(out.text)
        elif mime in out.get("data", {}):
            data = out.data[mime]
            parts.append(data if isinstance(data, str) else "".join(data))
    return parts


def _text(cell, mime):
    return "\n".join(_texts(cell, mime))


def _curated_schema():
    return load_schema(dataset.load(DEFAULTS.data.dataset).schema_path)


def _int_domain(column):
    [feature] = [f for f in _curated_schema().feature if f.name == column]
    assert feature.HasField("int_domain"), f"{column} has no int_domain in the curated schema"
    return set(range(feature.int_domain.min, feature.int_domain.max + 1))


def _evaluated_slices(uri):
    """{column: {value as text}} of the single-column slices in the evaluation at `uri`."""
    out = {}
    for entry in metrics_by_slice(uri):
        if entry["slice"] is not None:
            column, value = entry["slice"]
            out.setdefault(column, set()).add(value)
    return out


def test_notebook_ran_in_this_venv_from_the_repo_root(walkthrough, keep_file):
    keep_file(f"executed walkthrough notebook ({walkthrough['seconds']:.0f} s)",
              walkthrough["path"])
    setup = next(c for c in walkthrough["nb"].cells if c.cell_type == "code")
    printed = _text(setup, "text/plain")
    assert f"python:              {sys.executable}" in printed
    assert f"working directory:   {REPO}" in printed
    assert "TF_USE_LEGACY_KERAS: 1" in printed


def test_every_component_of_the_definition_executed_once(store, walkthrough):
    by_component = _executions_by_component(store, walkthrough)
    assert set(by_component) == set(COMPONENTS) | RESOLVERS, sorted(by_component)
    states = {cid: [STATE[e.last_known_state] for e in execs]
              for cid, execs in by_component.items()}
    # A fresh store has nothing to reuse: every component ran. The resolver never executes
    # anything; the legacy resolver driver records it as CACHED.
    for component_id in COMPONENTS:
        assert states[component_id] == ["COMPLETE"], f"{component_id}: {states[component_id]}"
    assert states[RESOLVER] == states[DRIFT_RESOLVER] == ["CACHED"]


def test_model_lineage_reaches_the_examples(store, walkthrough):
    execs = {cid: e for cid, [e] in _executions_by_component(store, walkthrough).items()}
    model = _output(store, execs["Trainer"], "model")
    upstream = _upstream_artifact_ids(store, model.id)
    expected = {
        "Examples": _output(store, execs["CsvExampleGen"], "examples"),
        "curated Schema": _output(store, execs["ImportSchemaGen"], "schema"),
        "TransformGraph": _output(store, execs["Transform"], "transform_graph"),
        "HyperParameters": _output(store, execs["Tuner"], "best_hyperparameters"),
    }
    for what, artifact in expected.items():
        assert artifact.id in upstream, f"{what} (artifact {artifact.id}) not upstream of the Model"
    # The inferred schema is shown for review; the model does not depend on it.
    assert _output(store, execs["SchemaGen"], "schema").id not in upstream
    # ...and the blessed, pushed model is that Model.
    pushed = _output(store, execs["Pusher"], "pushed_model")
    assert model.id in _upstream_artifact_ids(store, pushed.id)


def test_push_went_to_the_interactive_serving_dir_only(store, walkthrough):
    execs = {cid: e for cid, [e] in _executions_by_component(store, walkthrough).items()}
    blessing = _output(store, execs["Evaluator"], "blessing")
    assert blessing.custom_properties["blessed"].int_value == 1
    pushed = _output(store, execs["Pusher"], "pushed_model")
    assert pushed.custom_properties["pushed"].int_value == 1
    destination = Path(pushed.custom_properties["pushed_destination"].string_value)
    root = walkthrough["output_root"]
    assert destination.parent == root / "interactive" / "serving_model" / DEFAULTS.pipeline_name
    assert (destination / "saved_model.pb").is_file()
    # Nothing went to the pipeline's own store or serving folder.
    assert not (root / "serving_model").exists()
    assert not (root / "metadata.sqlite").exists()


def test_examples_are_the_latest_span(store, walkthrough):
    execs = {cid: e for cid, [e] in _executions_by_component(store, walkthrough).items()}
    spans = Path(DEFAULTS.data.data_root).glob("span-*")
    latest = max(int(p.name.split("-")[1]) for p in spans)
    examples = _output(store, execs["CsvExampleGen"], "examples")
    assert examples.custom_properties["span"].int_value == latest
    assert f"span:   {latest}\n" in _text(_cell(walkthrough["nb"], "examples"), "text/plain")


def test_notebook_displayed_statistics_schemas_and_anomalies(walkthrough):
    nb = walkthrough["nb"]
    assert "facets" in _text(_cell(nb, "show-statistics"), "text/html").lower()
    stats = _text(_cell(nb, "statistics-table"), "text/html")
    # One row per feature: every column of the curated schema has its own.
    for feature in _curated_schema().feature:
        assert f"<th>{feature.name}</th>" in stats, feature.name
    for tag in ("show-inferred-schema", "show-curated-schema"):
        html = _text(_cell(nb, tag), "text/html")
        for column in facts().report_slices:
            assert column in html, (tag, column)
    assert "No anomalies found" in _text(_cell(nb, "show-anomalies"), "text/html")


def test_notebook_created_the_tfma_widget_and_showed_slicing_tables(store, walkthrough):
    nb = walkthrough["nb"]
    report = facts().report_slices
    widget = _cell(nb, "tfma-widget")
    views = [o.data["application/vnd.jupyter.widget-view+json"] for o in widget.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1, widget.outputs
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    model = state[views[0]["model_id"]]
    assert model["model_name"] == "SlicingMetricsModel"
    # The kernel side of the widget holds the slices of the first report column. Whether a
    # browser draws them is up to TFMA's front end (the notebook says where it does not); the
    # tables below always show.
    assert any(report[0] in str(v) for v in model["state"].get("data", []))

    # One table per report column, in the spec's order, with a row for every slice of it that
    # the Evaluator computed.
    execs = {cid: e for cid, [e] in _executions_by_component(store, walkthrough).items()}
    evaluated = _evaluated_slices(_output(store, execs["Evaluator"], "evaluation").uri)
    cell = _cell(nb, "slicing-metrics-table")
    # "".join: nbformat may hold a text as a list of lines.
    tables = ["".join(out.data["text/plain"]) for out in cell.outputs
              if out.output_type == "display_data"]
    assert len(tables) == len(report), cell.outputs
    for column, table in zip(report, tables):
        assert column in table and "auc" in table, (column, table)
        assert evaluated.get(column), f"the evaluation has no {column} slices"
        missing = sorted(v for v in evaluated[column]
                         if not re.search(rf"^{re.escape(v)}\s", table, flags=re.M))
        assert missing == [], (column, missing)
    # The integer slice column's rows are values of its schema domain, most of them (for the
    # default dataset, at least 20 of the 24 hours).
    column = facts().slice_column
    domain = _int_domain(column)
    values = {int(m) for m in re.findall(r"^(\d+)\s", tables[report.index(column)],
                                         flags=re.M)}
    assert values == {int(v) for v in evaluated[column]}, sorted(values)
    assert len(values) >= 0.8 * len(domain) and values <= domain, sorted(values)
    assert "auc" in _text(_cell(nb, "overall-metrics"), "text/plain")
    # The gated slice, with the regression it may have.
    gated = _text(_cell(nb, "gated-slice-metrics"), "text/plain")
    column, value = facts().gated_slice
    if column:
        assert column in gated and value in gated and "max_regression" in gated, gated
    else:
        assert "Empty DataFrame" in gated, gated


def test_notebook_pushed_and_listed_its_mlmd_executions(walkthrough):
    nb = walkthrough["nb"]
    assert "pushed: True" in _text(_cell(nb, "pusher"), "text/plain")
    listing = _text(_cell(nb, "mlmd-executions"), "text/plain")
    for component_id in COMPONENTS + sorted(RESOLVERS):
        assert component_id in listing, component_id


def test_rerun_reuses_every_result_and_evaluates_without_self_comparison(store, walkthrough,
                                                                         rerun, keep_file):
    keep_file(f"executed walkthrough notebook, rerun ({rerun['seconds']:.0f} s)", rerun["path"])
    first = {cid: e for cid, [e] in _executions_by_component(store, walkthrough).items()}
    second = _executions_by_component(store, rerun)
    assert set(second) == set(COMPONENTS) | RESOLVERS, sorted(second)
    states = {cid: [STATE[e.last_known_state] for e in execs] for cid, execs in second.items()}
    for component_id in COMPONENTS + sorted(RESOLVERS):
        assert states[component_id] == ["CACHED"], f"{component_id}: {states[component_id]}"
    # The only blessed model is the (cached) candidate itself, which is never its own
    # baseline: the resolver handed over no model, so the Evaluator's inputs did not change.
    handed_over = [ev for ev in store.get_events_by_execution_ids([second[RESOLVER][0].id])
                   if ev.type == mlmd_pb2.Event.OUTPUT and ev.path.steps
                   and ev.path.steps[0].key == "model"]
    assert handed_over == []
    assert "none (no model was blessed before this one)" in _text(
        _cell(rerun["nb"], "resolver"), "text/plain")
    for component_id, key in (("Evaluator", "blessing"), ("Pusher", "pushed_model")):
        assert (_output(store, second[component_id][0], key).id
                == _output(store, first[component_id], key).id), component_id
    serving = rerun["output_root"] / "interactive" / "serving_model" / DEFAULTS.pipeline_name
    versions = [p.name for p in serving.iterdir() if p.name.isdigit()]
    assert len(versions) == 1, f"the rerun pushed another model: {versions}"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {index}"
