"""The model review as one self-contained HTML page (review data from tabflow/review/collect.py).

Everything is inline: CSS, SVG charts and one small script that only sorts tables; no fonts,
scripts or images from anywhere else, so the file opens offline, from a mail attachment or an
artifact store. Each section is also a function the notebooks display on their own.
"""
import html
import json
import re
from typing import Dict, List, Optional

from tabflow import contract
from tabflow.artifacts.evaluation import class_metric, per_class
from tabflow.review import charts
from tabflow.review.charts import BASELINE, CANDIDATE, fmt

# Metrics of the headline table, in reading order, with the direction that counts as better.
# Each problem type computes its own (pipeline/eval_config.py): a row shows when the evaluation
# has its metric.
METRICS = [("example_count", "examples", None), ("auc", "AUC", "higher"),
           ("auc_precision_recall", "AUC-PR", "higher"),
           ("binary_accuracy", "binary accuracy", "higher"), ("accuracy", "accuracy", "higher"),
           ("precision", "precision", "higher"), ("recall", "recall", "higher"),
           ("root_mean_squared_error", "RMSE", "lower"),
           ("mean_squared_error", "mean squared error", "lower"),
           ("mean_absolute_error", "mean absolute error", "lower"),
           ("mean_label", "mean label", None), ("mean_prediction", "mean prediction", None),
           ("calibration", "calibration (prediction / label)", "one"),
           ("binary_crossentropy", "log loss", "lower"),
           ("sparse_categorical_crossentropy", "log loss", "lower")]
# The columns of the slice tables, by problem type (the headline's).
SLICE_METRICS = {
    "binary": [("example_count", "examples"), ("auc", "AUC"),
               ("auc_precision_recall", "AUC-PR"), ("binary_accuracy", "accuracy"),
               ("precision", "precision"), ("recall", "recall"),
               ("mean_label", "mean label"), ("mean_prediction", "mean prediction")],
    "multiclass": [("example_count", "examples"), ("accuracy", "accuracy"),
                   ("sparse_categorical_crossentropy", "log loss")],
    "regression": [("example_count", "examples"), ("root_mean_squared_error", "RMSE"),
                   ("mean_absolute_error", "mean absolute error"),
                   ("mean_label", "mean label"), ("mean_prediction", "mean prediction")],
}
# Metrics that lie in [0, 1]: their charts share that axis.
UNIT_METRICS = {"auc", "auc_precision_recall", "accuracy", "binary_accuracy", "precision",
                "recall"}
# The per-class metrics of a multiclass evaluation (tabflow/artifacts/evaluation.py names them).
PER_CLASS_METRICS = [("recall", "recall"), ("precision", "precision")]
# Below this many examples a slice's metrics are noise; the table says so.
SMALL_SLICE = 30

# Page-level rules; notebook fragments leave the notebook's own body and headings alone.
PAGE_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
 color:#202124;background:#f8f9fa}
header{background:#fff;border-bottom:1px solid #dadce0;padding:16px 28px}
main{padding:8px 28px 40px;max-width:1280px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 10px}
h3{font-size:15px;margin:18px 0 8px}
"""
CSS = """
section{background:#fff;border:1px solid #dadce0;border-radius:8px;padding:4px 18px 16px;
 margin-top:16px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e8eaed;padding:4px 10px;text-align:right;vertical-align:top}
th{background:#f1f3f4;cursor:pointer;user-select:none}
td:first-child,th:first-child{text-align:left}
.verdict{display:inline-block;padding:6px 14px;border-radius:16px;font-weight:bold;
 font-size:14px}
.pass{background:#e6f4ea;color:#137333}.fail{background:#fce8e6;color:#a50e0e}
.neutral{background:#f1f3f4;color:#3c4043}.warn{background:#fef7e0;color:#8a5a00}
.better{color:#137333}.worse{color:#a50e0e}
.meta{color:#5f6368;font-size:13px}.mono{font-family:monospace;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.scroll{overflow:auto;border:1px solid #e8eaed}.scroll svg{max-width:100%;height:auto}
table.kv td{text-align:left}
.tag{font-size:11px;padding:1px 6px;border-radius:8px;margin-left:4px}
details{margin:8px 0}pre{font-size:12px;background:#f1f3f4;padding:8px;overflow:auto}
"""

# Click a header to sort its table (numbers numerically); the page reads fine without it.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th, index) {
  th.title = "sort";
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.dataset.order !== "asc";
    th.dataset.order = ascending ? "asc" : "desc";
    var key = function (row) {
      var text = row.cells[th.cellIndex].dataset.value || row.cells[th.cellIndex].textContent;
      var number = parseFloat(text);
      return isNaN(number) ? text : number;
    };
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === y) { return 0; }
      return (x < y ? -1 : 1) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _cell(value, digits: int = 3, css: str = "") -> str:
    data = "" if value is None else f' data-value="{value}"'
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}{data}>{fmt(value, digits)}</td>"


def _change_css(change: Optional[float], better: Optional[str], candidate, baseline) -> str:
    if change is None or better is None or abs(change) < 1e-9:
        return ""
    if better == "one":
        improved = abs(candidate - 1) < abs(baseline - 1)
    elif better == "lower":
        improved = change < 0
    else:
        improved = change > 0
    return "better" if improved else "worse"


def _artifact_line(entry: Optional[dict]) -> str:
    if not entry:
        return "none"
    text = f"#{entry['id']} {_e(entry['type'])}"
    if entry.get("run"):
        text += f" from run {_e(entry['run'])}"
    if entry.get("reused"):
        text += ' <span class="tag neutral">reused from cache</span>'
    return text + f'<br><span class="mono">{_e(entry["uri"])}</span>'


def verdict(review: dict) -> str:
    """The one-line answer a reviewer looks for first."""
    evaluation, push = review["evaluation"], review["push"]
    failed = review["run"]["failed_at"]
    if evaluation is None:
        if contract.ANOMALY_GATE in failed:
            return '<span class="verdict fail">STOPPED AT THE DATA GATE: no model was trained</span>'
        if contract.DRIFT_GATE in failed:
            return ('<span class="verdict fail">STOPPED AT THE DRIFT GATE: the span drifted from '
                    'the last span that passed; no model was trained</span>')
        if failed:
            return (f'<span class="verdict fail">RUN FAILED at {_e(", ".join(failed))}: '
                    'no evaluation</span>')
        return '<span class="verdict neutral">NO EVALUATION IN THIS RUN</span>'
    if evaluation["blessed"]:
        if push and push["pushed"]:
            where = _e(push["destination"])
            again = " (by an earlier run)" if push["state"] == "CACHED" else ""
            return (f'<span class="verdict pass">BLESSED and pushed{again}</span> '
                    f'<span class="mono">{where}</span>')
        return '<span class="verdict pass">BLESSED</span> (not pushed in this run)'
    return '<span class="verdict fail">NOT BLESSED: the model was not pushed</span>'


def registry_html(review: dict) -> str:
    """What the serving folder did with this run's model after the run: its versions, their
    aliases now, and every promote, rollback or blessing override."""
    rows = []
    for v in review.get("registry") or []:
        aliases = ", ".join(v["aliases"]) or "no alias"
        text = f"version {v['version']} ({_e(aliases)})"
        if not v["files_exist"]:
            text += " (files removed)"
        if v["override"]:
            text += (' <span class="verdict fail">BLESSING OVERRIDE</span> '
                     f'{_e(v["override_reason"])}')
        changes = "; ".join(f"{_e(h['time'])} {_e(h['action'])} &rarr; {_e(h['alias'])}"
                            + (f" by {_e(h['user'])}" if h["user"] else "")
                            + (f": {_e(h['reason'])}" if h["reason"] else "")
                            for h in v["history"])
        rows.append(f"<li>{text}<br><small>{changes}</small></li>")
    return f'<ul class="registry">{"".join(rows)}</ul>' if rows else ""


def headline_html(evaluation: dict) -> str:
    overall = evaluation["overall"]
    candidate, baseline, diff = (overall.get(k, {}) for k in ("candidate", "baseline", "diff"))
    rows = []
    known = {name for name, _, _ in METRICS}
    # Metrics the model was compiled with, which TFMA reports beside the configured ones;
    # per-class metrics ("recall/class 0") have their own table.
    extra = [(name, f"{name} (model's own)", None) for name in sorted(candidate)
             if name not in known and "/" not in name]
    for name, label, better in METRICS + extra:
        if name not in candidate:
            continue
        change = diff.get(name)
        css = _change_css(change, better, candidate.get(name), baseline.get(name))
        digits = 0 if name == "example_count" else 4
        rows.append(f"<tr><td>{_e(label)}</td>{_cell(candidate.get(name), digits)}"
                    f"{_cell(baseline.get(name), digits)}"
                    f"{_cell(change, digits, css) if baseline else '<td>n/a</td>'}</tr>")
    baseline_note = ""
    if evaluation["baseline"] is None:
        baseline_note = ("<p class=\"meta\">No baseline: no model had been blessed before this "
                         "run, so only absolute thresholds applied.</p>")
    elif not baseline:
        baseline_note = "<p class=\"meta\">The evaluation holds no baseline metrics.</p>"
    return (f'<table class="sortable" id="headline-metrics"><thead><tr><th>metric</th>'
            f'<th>candidate</th><th>baseline</th><th>change</th></tr></thead><tbody>'
            f'{"".join(rows)}</tbody></table>{baseline_note}{per_class_html(evaluation)}')


def _class_ids(metrics: dict) -> List[int]:
    shown = {metric for metric, _ in PER_CLASS_METRICS}
    return sorted({found[1] for found in map(class_metric, metrics)
                   if found is not None and found[0] in shown})


def _class_name(evaluation: dict, class_id: int) -> str:
    """The class's name where the run recorded the classes, else its id."""
    classes = evaluation.get("classes") or []
    return f"{class_id} ({classes[class_id]})" if class_id < len(classes) else str(class_id)


def per_class_html(evaluation: dict) -> str:
    """Recall and precision of each class, candidate beside baseline (multiclass only)."""
    overall = evaluation["overall"]
    candidate, baseline = overall.get("candidate", {}), overall.get("baseline", {})
    class_ids = _class_ids(candidate)
    if not class_ids:
        return ""
    head = "".join(f"<th>{_e(label)}</th><th>baseline {_e(label)}</th>"
                   for _, label in PER_CLASS_METRICS)
    rows = []
    for class_id in class_ids:
        cells = "".join(_cell(candidate.get(per_class(metric, class_id)), 4)
                        + _cell(baseline.get(per_class(metric, class_id)), 4)
                        for metric, _ in PER_CLASS_METRICS)
        rows.append(f"<tr><td>{_e(_class_name(evaluation, class_id))}</td>{cells}</tr>")
    return (f'<h3>by class</h3><table class="sortable" id="per-class-metrics"><thead><tr>'
            f'<th>class</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="meta">A prediction counts for a class when its probability is 0.5 or '
            f'more.</p>')


def thresholds_html(evaluation: dict) -> str:
    rows = []
    for check in evaluation["threshold_checks"]:
        if check["passed"] is None:
            status = '<span class="tag neutral">not applied (no baseline)</span>'
        elif check["passed"]:
            status = '<span class="tag pass">pass</span>'
        else:
            status = '<span class="tag fail">fail</span>'
        rows.append(f"<tr><td>{_e(check['metric'])}</td><td>{_e(check['rule'])}</td>"
                    f"{_cell(check['value'], 4)}<td>{status}</td></tr>")
    if not rows:
        rows.append('<tr><td colspan="4">no thresholds configured on the overall slice</td></tr>')
    validation = evaluation["validation"]
    if validation is None:
        tfma = '<span class="verdict neutral">no validation result</span>'
    elif validation["ok"]:
        tfma = '<span class="verdict pass">TFMA validation passed</span>'
    else:
        tfma = '<span class="verdict fail">TFMA validation failed</span>'
    details = []
    if validation:
        for failure in validation["failures"]:
            where = "overall" if failure["slice"] is None else "=".join(failure["slice"])
            details.append(f"<li>{_e(where)}: <b>{_e(failure['metric'])}</b>"
                           f"{' (change)' if failure.get('is_diff') else ''} "
                           f"= {fmt(failure['value'], 4)}: {_e(failure['message'])}</li>")
        if validation["missing_slices"]:
            details.append(f"<li>{validation['missing_slices']} configured slice(s) had no "
                           "data</li>")
        if validation["missing_thresholds"]:
            details.append("<li>some thresholds could not be computed</li>")
    return (f'<table id="thresholds"><thead><tr><th>metric</th><th>rule</th><th>value</th>'
            f'<th>result</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p>{tfma}</p>' + (f'<ul class="failures">{"".join(details)}</ul>' if details
                                else ""))


def _headline(evaluation: dict) -> dict:
    """The headline the evaluation was gated on; {} for one without (no metric charted)."""
    return evaluation.get("headline") or {}


def _defined(metrics: dict, metric: str) -> Optional[float]:
    """The metric's value, or None where it is undefined: AUC in a slice whose examples all
    have one label (TFMA still reports a number there)."""
    if metric == "auc" and metrics.get("mean_label") in (0.0, 1.0):
        return None
    return metrics.get(metric)


def _fails(value: Optional[float], headline: dict) -> bool:
    threshold = headline.get("threshold")
    if value is None or threshold is None:
        return False
    return value < threshold if headline["higher_is_better"] else value > threshold


def slices_html(evaluation: dict) -> str:
    overall = evaluation["overall"].get("candidate", {})
    headline = _headline(evaluation)
    metric, title = headline.get("metric"), headline.get("title")
    columns = SLICE_METRICS.get(headline.get("problem_type"), [("example_count", "examples")])
    out = []
    for column, rows in evaluation["slices"].items():
        out.append(f"<h3>by {_e(column)}</h3>")
        if not rows:
            out.append(f'<p class="meta">The evaluation has no {_e(column)} slices.</p>')
            continue
        categories = [row["value"] for row in rows]
        counts = [row["candidate"].get("example_count") for row in rows]
        notes = [f"{fmt(c, 0)} examples" for c in counts]
        out.append('<div class="charts">')
        if metric:
            series = [("candidate", [_defined(row["candidate"], metric) for row in rows],
                       CANDIDATE)]
            if any(row["baseline"] for row in rows):
                series.append(("baseline", [_defined(row["baseline"], metric) for row in rows],
                               BASELINE))
            reference = (f"overall {title}", overall[metric]) if metric in overall else None
            out.append(charts.bar_chart(
                f"slice-{metric}-{column}", f"{title} by {column}", categories, series, title,
                y_max=1.0 if metric in UNIT_METRICS else None, reference=reference,
                notes=notes))
        out.append(charts.bar_chart(
            f"slice-count-{column}", f"Eval examples by {column}", categories,
            [("examples", counts, "#80868b")], "examples", width=760, height=200))
        out.append("</div>")
        head = "".join(f"<th>{_e(label)}</th>" for _, label in columns)
        body = []
        for row in rows:
            cells = []
            for name, _ in columns:
                value = row["candidate"].get(name)
                if name == metric and _defined(row["candidate"], metric) is None:
                    cells.append('<td title="every example has the same label">undefined</td>')
                    continue
                css = "worse" if name == metric and _fails(value, headline) else ""
                cells.append(_cell(value, 0 if name == "example_count" else 3, css))
            if metric:
                cells.append(_cell(_defined(row["baseline"], metric), 3))
            small = (row["candidate"].get("example_count") or 0) < SMALL_SLICE
            tag = ' <span class="tag warn">few examples</span>' if small else ""
            body.append(f"<tr><td>{_e(row['value'])}{tag}</td>{''.join(cells)}</tr>")
        baseline_head = f"<th>baseline {_e(title)}</th>" if metric else ""
        out.append(f'<table class="sortable slice-table" data-column="{_e(column)}"><thead><tr>'
                   f'<th>{_e(column)}</th>{head}{baseline_head}</tr></thead>'
                   f'<tbody>{"".join(body)}</tbody></table>')
    if headline.get("threshold") is not None:
        side = "below" if headline["higher_is_better"] else "above"
        out.append(f'<p class="meta">{_e(title)} cells in red are {side} the overall threshold '
                   f'({headline["threshold"]:g}); thresholds apply to the overall slice only.'
                   f'</p>')
    return "".join(out)


def _calibration_points(buckets: List[dict], bins: int = 20):
    """Mean prediction vs mean label over `bins` equal-width prediction bins."""
    sums = [[0.0, 0.0, 0.0] for _ in range(bins)]
    for b in buckets:
        if not b["examples"]:
            continue
        mean_prediction = b["prediction_sum"] / b["examples"]
        index = min(max(int(mean_prediction * bins), 0), bins - 1)
        sums[index][0] += b["examples"]
        sums[index][1] += b["prediction_sum"]
        sums[index][2] += b["label_sum"]
    return [(p / n, label / n) for n, p, label in sums if n]


def _confusion_table(evaluation: dict, model: str, cells: List[dict]) -> str:
    """Examples by actual class (rows) and top predicted class (columns)."""
    ids = sorted({c["actual"] for c in cells} | {c["predicted"] for c in cells})
    counts = {(c["actual"], c["predicted"]): c["examples"] for c in cells}
    head = "".join(f"<th>{_e(_class_name(evaluation, i))}</th>" for i in ids)
    rows = []
    for actual in ids:
        row = "".join(_cell(counts.get((actual, predicted), 0.0), 0,
                            "better" if actual == predicted else "")
                      for predicted in ids)
        rows.append(f"<tr><td>{_e(_class_name(evaluation, actual))}</td>{row}</tr>")
    return (f'<table class="confusion" data-model="{_e(model)}"><thead><tr>'
            f'<th>{_e(model)}: actual / predicted</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def plots_html(evaluation: dict) -> str:
    plots = evaluation["plots"]
    if not plots:
        return '<p class="meta">The evaluation has no plots.</p>'
    # Baseline first and dashed, so an identical candidate is drawn over it and both show.
    models = [(name, color) for name, color in (("baseline", BASELINE),
                                                ("candidate", CANDIDATE)) if name in plots]
    if any(plots[name].get("multiclass_confusion") for name, _ in models):
        return "".join(_confusion_table(evaluation, name, plots[name]["multiclass_confusion"])
                       for name in ("candidate", "baseline")
                       if (plots.get(name) or {}).get("multiclass_confusion"))
    roc, pr, calibration = [], [], []
    for name, color in models:
        matrices = plots[name]["confusion"]
        roc.append((name, sorted((m["false_positive_rate"], m["recall"]) for m in matrices),
                    color))
        pr.append((name, sorted((m["recall"], m["precision"]) for m in matrices
                                if m["tp"] + m["fp"] > 0), color))
        calibration.append((name, _calibration_points(plots[name]["calibration"]), color))
    auc = evaluation["overall"].get("candidate", {})
    classes = evaluation.get("classes") or []
    positive = f"observed rate of {classes[1]}" if len(classes) == 2 else "observed positive rate"
    return ('<div class="charts">' +
            charts.line_chart("roc", f"ROC (candidate AUC {fmt(auc.get('auc'))})",
                              "false positive rate", "true positive rate", roc,
                              dashed=["baseline"], diagonal="chance") +
            charts.line_chart("pr", "Precision-recall (AUC-PR "
                              f"{fmt(auc.get('auc_precision_recall'))})",
                              "recall", "precision", pr, dashed=["baseline"]) +
            charts.line_chart("calibration", "Calibration", "mean prediction", positive,
                              calibration, dashed=["baseline"],
                              diagonal="perfectly calibrated", markers=True) +
            "</div>")


def plots_title(evaluation: dict) -> Optional[str]:
    """The plots section's heading, by the plots the evaluation has (None: no section)."""
    plots = evaluation["plots"].values()
    if any(p.get("multiclass_confusion") for p in plots):
        return "Confusion matrix (overall)"
    if any(p.get("confusion") or p.get("calibration") for p in plots):
        return "ROC, precision-recall and calibration (overall)"
    return None


def _feature_row(split: str, feature: dict) -> str:
    missing = f"{100 * feature['missing_fraction']:.1f}%"
    name = _e(feature["name"])
    if feature["kind"] == "numeric":
        histogram = feature["histogram"]
        spark = charts.sparkline(
            f"hist-{split}-{feature['name']}", [b[2] for b in histogram],
            [f"{fmt(b[0], 2)} to {fmt(b[1], 2)}" for b in histogram]) if histogram else ""
        detail = "no values" if feature["missing_fraction"] >= 1.0 else (
                  f"mean {fmt(feature['mean'], 3)}, std {fmt(feature['std_dev'], 3)}, "
                  f"min {fmt(feature['min'], 3)}, median {fmt(feature['median'], 3)}, "
                  f"max {fmt(feature['max'], 3)}")
    else:
        top = feature["top"]
        spark = charts.sparkline(f"top-{split}-{feature['name']}", [t[1] for t in top],
                                 [t[0] for t in top]) if top else ""
        detail = f"{feature['unique']} unique; top: " + ", ".join(
            f"{_e(value)} ({count:,.0f})" for value, count in top[:3])
    return (f"<tr><td>{name}</td><td>{_e(feature['type'])}</td><td>{missing}</td>"
            f"<td style=\"text-align:left\">{detail}</td><td>{spark}</td></tr>")


def drift_html(drift: Optional[dict]) -> str:
    """The drift gate's verdict and the distances it used, against their thresholds."""
    if drift is None:
        return '<p id="drift"><span class="verdict neutral">no drift gate in this run</span></p>'
    report = drift["report"]
    if report is None:
        state = drift["state"]
        css = "fail" if state == "FAILED" else "neutral"
        text = ("drift gate stopped the run: the span drifted from the last span that passed "
                "(the run's log lists each feature, distance and threshold)"
                if state == "FAILED" else f"drift gate {state.lower()}")
        return f'<p id="drift"><span class="verdict {css}">{_e(text)}</span></p>'
    baseline = report["baseline"]
    if baseline is None:
        return ('<p id="drift"><span class="verdict pass">drift gate passed: no baseline</span> '
                '(no older span has passed the data gates)</p>')
    rows = "".join(
        f"<tr><td>{_e(r['feature'])}</td><td>{_e(r['split'])}</td><td>{_e(r['measure'])}</td>"
        f"{_cell(r['distance'], 4)}{_cell(r['threshold'], 4)}"
        f"<td>{'pass' if r['passed'] else 'DRIFTED'}</td></tr>" for r in report["features"])
    return (f'<p id="drift"><span class="verdict pass">drift gate passed</span> against span '
            f'{_e(baseline["span"])} (statistics #{_e(baseline["statistics_id"])})</p>'
            f'<table class="sortable" id="drift-table"><thead><tr><th>feature</th><th>split</th>'
            f'<th>measure</th><th>distance</th><th>threshold</th><th>result</th></tr></thead>'
            f'<tbody>{rows}</tbody></table>')


def statistics_html(data: dict) -> str:
    summary, anomalies = data["summary"], data["anomalies"]
    out = []
    if data.get("span") is not None:
        out.append(f"<p>Span {data['span']}; examples: " + ", ".join(
            f"{_e(split)} {part['examples']:,}" for split, part in summary.items()) + "</p>")
    if anomalies is None:
        out.append('<p><span class="verdict neutral">no validation in this run</span></p>')
    else:
        found = [(split, line) for split, lines in anomalies.items() for line in lines]
        if found:
            out.append('<p><span class="verdict fail">anomalies found</span></p>'
                       '<ul id="anomalies">' + "".join(
                           f"<li>{_e(split)}: {_e(line)}</li>" for split, line in found)
                       + "</ul>")
        else:
            out.append('<p id="anomalies"><span class="verdict pass">no anomalies against the '
                       'curated schema</span></p>')
    out.append(drift_html(data.get("drift")))
    for split, part in summary.items():
        rows = "".join(_feature_row(split, f) for f in part["features"])
        out.append(f"<details{' open' if split == 'train' else ''}><summary>{_e(split)} split: "
                   f"{part['examples']:,} examples, {len(part['features'])} features</summary>"
                   f'<table class="sortable stats-table"><thead><tr><th>feature</th>'
                   f'<th>type</th><th>missing</th><th style="text-align:left">summary</th><th>distribution</th></tr>'
                   f"</thead><tbody>{rows}</tbody></table></details>")
    return "".join(out)


def _components_html(components: List[dict]) -> str:
    rows = "".join(
        f"<tr><td>{_e(c['node'])}</td><td>{_e(c['state'])}</td>{_cell(c['seconds'], 1)}</tr>"
        for c in components)
    return (f'<table class="sortable"><thead><tr><th>component</th><th>state</th>'
            f'<th>seconds</th></tr></thead><tbody>{rows}</tbody></table>')


def _provenance_html(provenance: dict) -> str:
    files = "".join(f"<tr><td>{_e(path)}</td><td class=\"mono\">{_e(digest)}</td></tr>"
                    for path, digest in sorted(provenance["files"].items()))
    return (f"<table class=\"kv\"><tbody>"
            f"<tr><td>git commit</td><td class=\"mono\">{_e(provenance['git_commit'])}</td></tr>"
            f"<tr><td>uncommitted changes</td><td>{_e(provenance['git_dirty'])}</td></tr>"
            f"<tr><td>runner</td><td>{_e(provenance['runner'])}</td></tr>"
            f"<tr><td>code sha256</td><td class=\"mono\">{_e(provenance['code_sha256'])}</td>"
            f"</tr></tbody></table>"
            f"<details><summary>file hashes</summary><table class=\"kv\"><tbody>{files}</tbody></table>"
            f"</details><details><summary>effective configuration</summary><pre>"
            f"{_e(json.dumps(provenance['config'], indent=2, sort_keys=True))}</pre></details>")


def _run_html(review: dict) -> str:
    run, evaluation = review["run"], review["evaluation"]
    seconds = f"{run['seconds']:.1f} s" if run["seconds"] is not None else "still running"
    rows = [("run", f"{_e(run['id'])} ({_e(run['runner'])}, {_e(run['status'])}, {seconds})"),
            ("started", _e(run["started"]))]
    if evaluation:
        rows.append(("candidate model", _artifact_line(evaluation["model"])))
        rows.append(("baseline model", _artifact_line(evaluation["baseline"])
                     if evaluation["baseline"] else "none (no model blessed before)"))
        rows.append(("evaluation", _artifact_line(evaluation["artifact"])))
    rows.append(("data", _artifact_line(review["data"]["examples"])))
    return '<table class="kv"><tbody>' + "".join(
        f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows) + \
        "</tbody></table>"


def split_note(evaluation: dict) -> str:
    """Which data every metric, slice and plot of the evaluation comes from."""
    splits = evaluation.get("splits") or []
    names = ", ".join(splits) or "unknown"
    held_out = (" held out from tuning and training" if splits == [contract.TEST_SPLIT]
                else "")
    return (f'<p class="meta" id="evaluated-split">Every metric, slice and plot below is '
            f'computed on the {html.escape(names)} split{held_out}.</p>')


def render(review: dict) -> str:
    """The whole review page."""
    run, evaluation = review["run"], review["evaluation"]
    title = f"Model review: {review['pipeline']}, run {run['id']}"
    sections = [f'<section id="run"><h2>Run</h2>{_run_html(review)}</section>']
    if evaluation:
        sections += [
            f'<section id="metrics"><h2>Headline metrics vs baseline</h2>'
            f'{split_note(evaluation)}{headline_html(evaluation)}</section>',
            f'<section id="thresholds-section"><h2>Thresholds</h2>'
            f'{thresholds_html(evaluation)}</section>',
            f'<section id="slices"><h2>Metrics by slice</h2>{slices_html(evaluation)}'
            f'</section>']
        heading = plots_title(evaluation)
        if heading:
            sections.append(f'<section id="plots"><h2>{_e(heading)}</h2>'
                            f'{plots_html(evaluation)}</section>')
    else:
        sections.append('<section id="metrics"><h2>Evaluation</h2><p>This run has no '
                        'evaluation: see the components below for where it stopped.</p>'
                        '</section>')
    sections += [
        f'<section id="data"><h2>Data statistics, anomalies and drift</h2>'
        f'{statistics_html(review["data"])}</section>',
        f'<section id="components"><h2>Components</h2>'
        f'{_components_html(review["components"])}</section>',
        f'<section id="lineage"><h2>Lineage graph of the run</h2><p class="meta">Artifacts '
        f'are boxes, executions rounded; dashed executions were served from the cache.</p>'
        f'<div class="scroll">{review["lineage_svg"] or "no executions"}</div></section>',
        f'<section id="provenance"><h2>Provenance</h2>'
        f'{_provenance_html(review["provenance"])}</section>']
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{PAGE_CSS}{CSS}</style></head><body>"
            f'<header><h1>{_e(title)}</h1><div id="verdict">{verdict(review)}{registry_html(review)}</div>'
            f'<p class="meta">Generated {_e(review["generated"])} from the MLMD store by '
            f'<span class="mono">tabflow report</span>.</p></header>'
            f'<main>{"".join(sections)}</main><script>{SORT_SCRIPT}</script></body></html>\n')


def write(output: str, text: str) -> None:
    """Writes a page so that a reader never sees half of it: a temporary file, then a rename."""
    import os
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    tmp = f"{output}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, output)


def file_name(run_id: str) -> str:
    """The review file's name for a run: review-<run id>.html, unsafe characters replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", run_id).strip("-") or "run"
    return f"review-{safe}.html"


def fragment(html_text: str) -> str:
    """A section for a notebook cell: the page's CSS scoped by inclusion, no script."""
    return f"<div><style>{CSS}</style>{html_text}</div>"


def sections(review: dict) -> Dict[str, str]:
    """The review's sections as notebook-ready HTML fragments, by name."""
    evaluation = review["evaluation"]
    out = {"verdict": fragment(verdict(review)),
           "data": fragment(statistics_html(review["data"])),
           "lineage": fragment(review["lineage_svg"])}
    if evaluation:
        out.update(headline=fragment(headline_html(evaluation)),
                   thresholds=fragment(thresholds_html(evaluation)),
                   slices=fragment(slices_html(evaluation)),
                   plots=fragment(plots_html(evaluation)))
    return out
