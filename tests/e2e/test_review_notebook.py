"""End-to-end: the model-review notebook, executed top to bottom in a real Jupyter kernel on the
shared store of real runs. It must find its run in MLMD by itself (no path is given to it)."""
import html
import re
from pathlib import Path

import pytest

from tests.support.default_dataset import facts
from tests.support.notebooks import REPO, REVIEW_NOTEBOOK, execute_notebook

pytestmark = pytest.mark.e2e

NOTEBOOK = REVIEW_NOTEBOOK
EXECUTED = REPO / "outputs" / "notebooks" / "model_review.executed.ipynb"
WIDGET = "application/vnd.jupyter.widget-view+json"


def outputs_of(nb):
    """(cell index, cell source, output) for every output of every code cell."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                yield index, cell.source, output


def text_of(output) -> str:
    if output.output_type == "stream":
        return output.text
    return "".join(str(v) for k, v in output.get("data", {}).items() if k != WIDGET)


def test_model_review_notebook_reviews_the_latest_evaluated_run(e2e_config, three_runs, store,
                                                               keep_file):
    from tabflow.review import collect
    expected_run = collect.latest_evaluated_run(store, e2e_config.pipeline_name)
    expected = collect.collect(store, e2e_config.pipeline_name, expected_run)

    nb = execute_notebook(NOTEBOOK, {"TAXI_OUTPUT_ROOT": e2e_config.output_root}, EXECUTED)
    keep_file("executed model-review notebook", EXECUTED)

    outputs = list(outputs_of(nb))
    printed = "".join(text_of(o) for _, _, o in outputs)
    assert f"run: {expected_run}" in printed
    assert expected["evaluation"]["artifact"]["uri"] in printed
    validation_ok = expected["evaluation"]["validation"]["ok"]
    assert f"validation ok: {validation_ok}" in printed

    # TFMA's slicing-metrics widget was created (what the browser makes of it:
    # test_notebook_in_browser.py).
    widget_cells = [source for _, source, o in outputs if WIDGET in o.get("data", {})]
    assert any("render_slicing_metrics" in s for s in widget_cells)

    # The static views that display everywhere: a table per slice column of the evaluation (the
    # dataset's report slices) with every one of its slices, the plots and the lineage graph.
    slices = expected["evaluation"]["slices"]
    assert list(slices) == list(facts().report_slices)
    assert f"slice columns: {', '.join(slices)}" in printed
    [cell] = [c for c in nb.cells if "slice-tables" in c.metadata.get("tags", [])]
    tables = [o.data["text/html"] for o in cell.outputs if o.output_type == "display_data"]
    assert len(tables) == len(slices)
    for (column, rows), table in zip(slices.items(), tables):
        head, body = table.split("<tbody>", 1)
        assert f"<th>{html.escape(column)}</th>" in head, column
        shown = {html.unescape(v) for v in re.findall(r"<tr>\s*<th>([^<]*)</th>", body)}
        assert shown == {row["value"] for row in rows}, column
    assert 'data-chart="roc"' in printed and 'data-chart="calibration"' in printed
    assert any("image/svg+xml" in o.get("data", {}) for _, _, o in outputs)

    report = re.search(r"report written to (\S+)", printed).group(1)
    assert Path(report).exists() and "Model review" in Path(report).read_text()
