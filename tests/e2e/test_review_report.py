"""End-to-end: `tabflow report` on real runs, opened in headless Chromium.

The page's numbers are checked against TFMA's own loader, its charts by what the browser drew
(element boxes and screenshot pixels), and the page must make no request beyond its own file
and log no console error. The full-page screenshot is kept under outputs/screenshots/.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.browser import Browser
# Imported as dataset_facts: in the tests below, `facts` is what the page shows.
from tests.support.default_dataset import facts as dataset_facts
from tests.support.pipeline_runs import out

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "outputs" / "screenshots"


def charts():
    """The page's charts: AUC and examples by each of the dataset's report slices, then the
    overall curves."""
    return ([f"slice-{kind}-{column}" for column in dataset_facts().report_slices
             for kind in ("auc", "count")] + ["roc", "pr", "calibration"])


PAGE_FACTS = """(() => {
  const box = el => { const r = el.getBoundingClientRect();
    return {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height}; };
  const charts = {};
  document.querySelectorAll("svg.chart").forEach(svg => {
    charts[svg.dataset.chart] = Object.assign(box(svg), {
      bars: Array.from(svg.querySelectorAll("rect.bar"))
        .filter(b => b.getBBox().height > 0).length,
      points: Array.from(svg.querySelectorAll("polyline.series"))
        .map(p => p.points.numberOfItems)});
  });
  const rows = {};
  document.querySelectorAll("table.slice-table").forEach(t => {
    rows[t.dataset.column] = Array.from(t.tBodies[0].rows).map(r => r.cells[0].innerText.trim());
  });
  const headline = {};
  document.querySelectorAll("#headline-metrics tbody tr").forEach(r => {
    headline[r.cells[0].innerText.trim()] = r.cells[1].dataset.value; });
  return {verdict: document.querySelector("#verdict").innerText, charts: charts, rows: rows,
          headline: headline, lineage: box(document.querySelector("#lineage svg")),
          lineageNodes: document.querySelectorAll("#lineage svg g").length,
          sparklines: document.querySelectorAll("svg.spark rect.bar").length,
          text: document.body.innerText};
})()"""


def report(e2e_config, *args):
    return subprocess.run(
        [sys.executable, "-m", "tabflow.console", "report", *args,
         "--output-root", e2e_config.output_root],
        cwd=REPO, capture_output=True, text=True, timeout=300)


def write_report(e2e_config, run_id, path):
    result = report(e2e_config, run_id, "--output", str(path))
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout
    return path.read_text()


def ink(png_path, background=(255, 255, 255)):
    """Fraction of pixels that differ from the background, and the set of colours drawn."""
    from PIL import Image
    image = Image.open(png_path).convert("RGB")
    pixels = list(image.getdata())
    drawn = [p for p in pixels if sum(abs(a - b) for a, b in zip(p, background)) > 30]
    return len(drawn) / max(len(pixels), 1), set(drawn)


def tfma_overall(uri):
    """Overall-slice candidate metrics through TFMA's own loader (the reference)."""
    import tensorflow_model_analysis as tfma
    metrics = {}
    for slice_metrics in tfma.load_metrics(uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for item in slice_metrics.metric_keys_and_values:
            if item.key.model_name == "candidate" and not item.key.is_diff \
                    and item.key.HasField("example_weighted"):
                metrics[item.key.name] = item.value.double_value.value
    return metrics


def tfma_slices(uri, column):
    import tensorflow_model_analysis as tfma
    values = set()
    for slice_metrics in tfma.load_metrics(uri):
        for key in slice_metrics.slice_key.single_slice_keys:
            if key.column == column:
                value = getattr(key, key.WhichOneof("kind"))
                values.add(value.decode() if isinstance(value, bytes) else str(value))
    return values


def test_report_of_a_run_with_a_baseline_renders_in_chromium(e2e_config, three_runs, tmp_path,
                                                             keep_file):
    second = three_runs[1]  # its Evaluator compared the new model with run 1's blessed one
    report_slices = dataset_facts().report_slices
    html = write_report(e2e_config, second.run_id, tmp_path / "review.html")

    # Self-contained: nothing fetched from anywhere, no external fonts or scripts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert not re.search(r"url\((?!#)", html) and "@import" not in html

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "review-report.png"
    with Browser() as browser:
        page_url = (tmp_path / "review.html").as_uri()
        browser.open(page_url)
        facts = browser.evaluate(PAGE_FACTS)
        browser.screenshot(str(shot))
        chart_shots = {}
        for name in charts():
            c = facts["charts"][name]
            chart_shots[name] = browser.screenshot(
                str(tmp_path / f"{name}.png"),
                clip={"x": c["x"], "y": c["y"], "width": c["w"], "height": c["h"]})
        # The sort script works: sorting a slice table by examples reorders the rows.
        order = browser.evaluate("""((column) => {
          const t = document.querySelector(`table.slice-table[data-column="${column}"]`);
          const th = Array.from(t.tHead.rows[0].cells).find(c => c.innerText === "examples");
          th.click(); th.click();
          return Array.from(t.tBodies[0].rows).map(r => parseFloat(r.cells[1].dataset.value));
        })(%s)""" % json.dumps(report_slices[-1]))
        messages, requests = browser.messages, browser.requests
    keep_file("review report screenshot (headless Chromium)", shot)
    page_copy = SCREENSHOTS / "review-report.html"
    shutil.copyfile(tmp_path / "review.html", page_copy)
    keep_file("the review report it shows", page_copy)

    assert [m for m in messages if m["level"] in ("error", "warning")] == []
    assert set(requests) == {page_url}, requests
    assert len(order) > 1 and order == sorted(order, reverse=True)

    assert "BLESSED and pushed" in facts["verdict"]
    for name in charts():
        chart = facts["charts"][name]
        assert chart["w"] > 100 and chart["h"] > 100, (name, chart)
        fraction, colours = ink(chart_shots[name])
        assert fraction > 0.02, (name, fraction)  # more than axes and a title
    for column in report_slices:
        assert facts["charts"][f"slice-count-{column}"]["bars"] == len(facts["rows"][column])
        assert facts["charts"][f"slice-auc-{column}"]["bars"] >= 1
    for name in ("roc", "pr", "calibration"):
        # Candidate and baseline curves, each with many points.
        assert len(facts["charts"][name]["points"]) == 2
        assert min(facts["charts"][name]["points"]) >= 2
    _, roc_colours = ink(chart_shots["roc"])
    assert (0x1a, 0x73, 0xe8) in roc_colours  # the candidate's curve was painted
    assert facts["lineage"]["w"] > 200 and facts["lineageNodes"] > 10
    assert facts["sparklines"] > 50

    # The numbers are TFMA's: headline AUC and the slices, read with TFMA's own loader.
    evaluation_uri = out(second, "Evaluator", "evaluation").uri
    reference = tfma_overall(evaluation_uri)
    assert float(facts["headline"]["AUC"]) == pytest.approx(reference["auc"], abs=1e-9)
    assert float(facts["headline"]["examples"]) == reference["example_count"]
    for column in report_slices:
        shown = {re.sub(r"\s*few examples$", "", row) for row in facts["rows"][column]}
        assert shown == tfma_slices(evaluation_uri, column)
    # Baseline and provenance are the ones MLMD recorded.
    baseline_model = out(three_runs[0], "Trainer", "model")
    assert f"#{baseline_model.id} Model from run {three_runs[0].run_id}" in facts["text"]
    assert "TFMA validation passed" in facts["text"]
    assert "computed on the test split held out from tuning and training" in facts["text"]
    provenance = out(second, "RunProvenance", "provenance")
    assert provenance.custom_properties["git_commit"].string_value in facts["text"]
    assert provenance.custom_properties["code_sha256"].string_value in facts["text"]


def test_report_of_an_unblessed_run_shows_the_failed_threshold(e2e_config, strict_run, tmp_path):
    html = write_report(e2e_config, strict_run.run_id, tmp_path / "strict.html")
    assert "NOT BLESSED" in html
    assert "TFMA validation failed" in html
    failures = re.search(r'<ul class="failures">(.*?)</ul>', html).group(1)
    assert "auc" in failures and "overall" in failures
    assert '<span class="tag fail">fail</span>' in html
    verdict = re.search(r'<div id="verdict">(.*?)</div>', html).group(1)
    assert "NOT BLESSED: the model was not pushed" in verdict


def test_report_of_a_gate_stopped_run_names_the_anomaly(e2e_config, drifted_run, tmp_path):
    html = write_report(e2e_config, drifted_run, tmp_path / "drifted.html")
    assert "STOPPED AT THE DATA GATE" in html
    anomalies = re.search(r'<ul id="anomalies">(.*?)</ul>', html).group(1)
    assert dataset_facts().slice_column in anomalies
    assert "Headline metrics" not in html and 'data-chart="roc"' not in html
    with Browser() as browser:
        browser.open((tmp_path / "drifted.html").as_uri())
        nodes = browser.evaluate("document.querySelectorAll('#lineage svg g').length")
        assert [m for m in browser.messages if m["level"] == "error"] == []
    assert nodes >= 10  # the run's executions up to the gate, and their artifacts


def test_report_of_a_fully_cached_run_says_what_it_reused(e2e_config, three_runs, capsys):
    third = three_runs[2]
    result = report(e2e_config, third.run_id, "--json")
    assert result.returncode == 0, result.stderr
    review = json.loads(result.stdout)
    evaluation = review["evaluation"]
    assert evaluation["state"] == "CACHED" and evaluation["artifact"]["reused"] is True
    assert evaluation["artifact"]["run"] == three_runs[1].run_id
    assert review["push"]["state"] == "CACHED"
    assert {c["node"] for c in review["components"]} >= {"Evaluator", "Pusher", "Trainer"}


def test_report_of_an_unknown_run_is_one_clear_error(e2e_config, three_runs):
    result = report(e2e_config, "local-1999-01-01T00:00:00")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("ERROR: no run 'local-1999-01-01T00:00:00'")


def test_report_default_path_is_under_the_output_root(e2e_config, three_runs):
    result = report(e2e_config)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip().rsplit(" written to ", 1)[1])
    assert path.parent == Path(e2e_config.output_root) / "reports" and path.exists()
    assert os.path.getsize(path) > 10_000
