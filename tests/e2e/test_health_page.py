"""End-to-end: `tabflow health` over the shared store's real runs (pushed, cached,
unblessed and stopped at the data gate), opened in headless Chromium: every chart drawn, one
timeline mark and one table row per run with its status from MLMD, links to the runs' review
files, no request beyond the page, no console error. The screenshot is kept under
outputs/screenshots/."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tabflow.metadata.runs import list_runs
from tests.support.browser import Browser

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "outputs" / "screenshots"
CHARTS = ["runs-duration", "cache-hit-rate", "component-seconds", "headline-by-span", "timeline"]

PAGE_FACTS = """(() => {
  const box = el => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height}; };
  const charts = {};
  document.querySelectorAll("svg.chart").forEach(svg => {
    charts[svg.dataset.chart] = Object.assign(box(svg), {
      bars: Array.from(svg.querySelectorAll("rect.bar")).filter(b => b.getBBox().height > 0)
        .length});
  });
  const rows = Array.from(document.querySelectorAll("#runs-table tbody tr")).map(r => ({
    run: r.cells[2].innerText.trim(), href: r.cells[2].querySelector("a").getAttribute("href"),
    status: r.cells[4].innerText.trim()}));
  return {charts: charts, rows: rows,
          runMarks: document.querySelectorAll("circle.run-mark").length,
          servingMarks: document.querySelectorAll(".serving-mark").length,
          newest: document.querySelector("#newest-status").innerText};
})()"""


def test_health_page_in_chromium(e2e_config, store, three_runs, strict_run, drifted_run,
                                 tmp_path, keep_file):
    page = tmp_path / "health.html"
    done = subprocess.run([sys.executable, "-m", "tabflow.console", "health", "--output", str(page),
                           "--output-root", e2e_config.output_root],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert str(page) in done.stdout

    shot = SCREENSHOTS / "health.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with Browser() as browser:
        url = page.as_uri()
        browser.open(url)
        facts = browser.evaluate(PAGE_FACTS)
        browser.screenshot(str(shot))
        messages, requests = browser.messages, browser.requests
    keep_file("pipeline health page screenshot (headless Chromium)", shot)
    shutil.copyfile(page, SCREENSHOTS / "health.html")

    assert [m for m in messages if m["level"] in ("error", "warning")] == []
    assert set(requests) == {url}, requests

    # One row and one timeline mark per run MLMD holds, oldest first, with MLMD's status.
    runs = list_runs(store, e2e_config.pipeline_name, 60)
    assert [r["run"] for r in facts["rows"]] == [r.run_id for r in runs]
    assert [r["status"].split(" ")[0] for r in facts["rows"]] == [r.status for r in runs]
    assert facts["runMarks"] == len(runs)
    by_id = {r["run"]: r for r in facts["rows"]}
    assert by_id[drifted_run]["status"] == "FAILED at AnomalyGate"
    assert by_id[three_runs[0].run_id]["href"].startswith("review-")
    # Every push of the serving folder is on the timeline.
    assert facts["servingMarks"] >= sum(1 for r in runs if r.pushed) >= 2

    for name in CHARTS:
        chart = facts["charts"][name]
        assert chart["w"] > 100 and chart["h"] > 100, (name, chart)
    assert facts["charts"]["runs-duration"]["bars"] == len(runs)
    assert facts["charts"]["headline-by-span"]["bars"] >= 1
    assert facts["charts"]["component-seconds"]["bars"] >= 4
    assert facts["newest"].startswith("newest run ")
