"""End-to-end: the model-review notebook run in the classic Notebook UI in headless Chromium.

The executed-in-a-kernel tests prove every cell runs; this one proves what a reviewer sees in the
browser: TFMA's widgets load (their front-end extension is enabled and compatible: with
widgetsnbextension >= 3.6.7 they fail with `_deserialize_state is not a function`) and hold the
evaluation's slices, and the static charts render. A copy of the notebook is served, so the
UI's autosave never touches the committed one.

TFMA's widgets draw their charts with Google Charts fetched from www.gstatic.com; this machine
has no internet, so those requests fail here and are the only console errors tolerated.
"""
import json
import shutil
import time

import pytest

from tests.support.browser import Browser
from tests.support.default_dataset import facts
from tests.support.jupyter_server import classic_notebook
from tests.support.notebooks import REPO
from tests.support.notebooks import REVIEW_NOTEBOOK as NOTEBOOK

pytestmark = pytest.mark.e2e

SCREENSHOTS = REPO / "outputs" / "screenshots"
# What TFMA's widgets fetch from the internet (charts, fonts); unreachable offline.
OFFLINE_HOSTS = ("www.gstatic.com", "fonts.googleapis.com", "fonts.gstatic.com")

STATE = """(() => {
  const find = (root, selector) => {
    let found = root.querySelector(selector);
    if (found) { return found; }
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { found = find(el.shadowRoot, selector); if (found) { return found; } }
    }
    return null;
  };
  const slicing = document.querySelector("tfma-nb-slicing-metrics");
  const size = el => el ? [el.getBoundingClientRect().width, el.getBoundingClientRect().height]
                        : null;
  return {
    busy: Jupyter.notebook.kernel_busy,
    executed: Jupyter.notebook.get_cells().filter(c => c.cell_type === "code")
      .map(c => c.input_prompt_number),
    errors: Array.from(document.querySelectorAll(".output_error")).map(e => e.innerText),
    slicing: size(slicing), slicingData: slicing && slicing.data ? slicing.data.length : null,
    browserRows: (() => { const b = find(document, "tfma-slicing-metrics-browser");
                          return b && b.data ? b.data.length : 0; })(),
    tableText: (() => { const t = find(document, "tfma-metrics-table");
                        return t && t.data ? JSON.stringify(t.data) : ""; })(),
    charts: Array.from(document.querySelectorAll("svg.chart")).map(
      svg => [svg.dataset.chart, svg.getBoundingClientRect().width]),
  };
})()"""


def offline_failure(message: dict) -> bool:
    text = f"{message.get('text') or ''} {message.get('url') or ''}".strip()
    # A failed <script> load surfaces as an uncaught exception whose value is the DOM Event.
    return any(host in text for host in OFFLINE_HOSTS) or (
        message["source"] == "exception" and text in ("Event", "[object Event]"))


def test_model_review_notebook_in_the_classic_ui_shows_tfma_widgets_and_charts(
        e2e_config, three_runs, store, tmp_path, keep_file):
    from tabflow.review import collect
    reviewed = collect.collect(store, e2e_config.pipeline_name,
                               collect.latest_evaluated_run(store, e2e_config.pipeline_name))
    # The widget shows the slices of the evaluation's first slice column.
    column = facts().report_slices[0]
    slices = len(reviewed["evaluation"]["slices"][column])
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(NOTEBOOK, served / NOTEBOOK.name)

    env = {"TAXI_OUTPUT_ROOT": e2e_config.output_root}
    with classic_notebook(served, tmp_path, env) as server, \
            Browser(width=1400, height=1200, timeout=120) as browser:
        browser.open(server.url(f"/notebooks/{NOTEBOOK.name}"))
        deadline = time.time() + 120
        while not browser.evaluate("!!(window.Jupyter && Jupyter.notebook && "
                                   "Jupyter.notebook.kernel && "
                                   "Jupyter.notebook.kernel.is_connected())"):
            assert time.time() < deadline, "the notebook's kernel never connected"
            time.sleep(0.5)
        # One cell at a time, as a reader would run them; a stuck cell is named.
        count = browser.evaluate("Jupyter.notebook.get_cells().length")
        for index in range(count):
            if browser.evaluate(f"Jupyter.notebook.get_cell({index}).cell_type") != "code":
                continue
            browser.evaluate(f"Jupyter.notebook.execute_cells([{index}]), true")
            deadline = time.time() + 300
            while True:
                prompt = browser.evaluate(
                    f"Jupyter.notebook.get_cell({index}).input_prompt_number")
                if prompt not in (None, "*") and not browser.evaluate(
                        "Jupyter.notebook.kernel_busy"):
                    break
                assert time.time() < deadline, (
                    f"cell {index} still running after 300 s; kernels as the server sees them: "
                    f"{server.api('/api/kernels')}; server log: {server.log}")
                time.sleep(1)
            state = browser.evaluate(STATE)
            assert state["errors"] == [], f"cell {index}: {state['errors']}"
        time.sleep(2)  # the widgets' last renders
        state = browser.evaluate(STATE)
        # The screenshot shows TFMA's slicing-metrics widget and what follows it.
        browser.evaluate("document.querySelector('tfma-nb-slicing-metrics')"
                         ".scrollIntoView(), true")
        time.sleep(0.5)
        shot = browser.screenshot(str(tmp_path / "classic-notebook.png"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        keep = SCREENSHOTS / "model-review-notebook-classic-ui.png"
        shutil.copy(shot, keep)
        messages = browser.messages

    assert state["errors"] == []
    keep_file("model-review notebook in the classic UI (headless Chromium)", keep)
    # TFMA's slicing-metrics widget came up with every slice of that column.
    assert state["slicing"] and state["slicing"][0] > 300 and state["slicing"][1] > 50
    assert state["slicingData"] == slices
    # TFMA's slice browser got every slice, and its metrics table the metric values.
    assert state["browserRows"] == slices
    assert '"auc"' in state["tableText"] and f"{column}:" in state["tableText"]
    # The static views beside them rendered in the notebook page.
    charts = dict(state["charts"])
    for name in (*(f"slice-auc-{c}" for c in facts().report_slices), "roc", "pr",
                 "calibration"):
        assert charts.get(name, 0) > 100, (name, charts)
    problems = [m for m in messages if m["level"] == "error" and not offline_failure(m)]
    assert problems == [], json.dumps(problems, indent=1)
    assert not any("_deserialize_state" in (m.get("text") or "") for m in messages)
