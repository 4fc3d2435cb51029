"""The pipeline-health page: one self-contained HTML file (inline CSS and SVG, no network),
like the model review. Each run links to its review file, which `tabflow report` writes
beside this page (<output_root>/reports/review-<run id>.html)."""
import datetime
import html
import statistics
from typing import List, Optional

from tabflow import contract as C
from tabflow.review.charts import bar_chart, fmt
from tabflow.review.page import CSS, PAGE_CSS, SORT_SCRIPT, UNIT_METRICS, file_name

STATUS_COLORS = {"COMPLETE": "#1e8e3e", "FAILED": "#d93025", "ABANDONED": "#9334e6",
                 "RUNNING": "#f29900", "STALE": "#80868b"}
MIN_SECONDS = 0.5
EVENT_MARKS = {"push": ("#1a73e8", "▲"), "promote": ("#1e8e3e", "◆"),
               "rollback": ("#d93025", "▼")}


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def review_link(run_id: str) -> str:
    """The run's review file, as `tabflow report` names it, beside this page."""
    return file_name(run_id)


def _label(run: dict, index: int) -> str:
    return f"{index + 1}"


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def summary_html(health: dict) -> str:
    shown = health["runs"]
    if not shown:
        return "<p>No runs in the store yet.</p>"
    newest = shown[-1]
    complete = sum(1 for r in shown if r["status"] == "COMPLETE")
    pushes = [r for r in shown if r["pushed"]]
    css = "pass" if newest["status"] == "COMPLETE" else "fail"
    last_push = pushes[-1]["started"] if pushes else "none in these runs"
    return (f'<p><span class="verdict {css}" id="newest-status">newest run '
            f'{_e(newest["status"])}</span></p>'
            f'<table class="kv" id="summary"><tbody>'
            f'<tr><td>runs shown</td><td>{len(shown)} of {health["total_runs"]}</td></tr>'
            f'<tr><td>completed</td><td>{complete} of {len(shown)} '
            f'({100.0 * complete / len(shown):.0f}%)</td></tr>'
            f'<tr><td>last push</td><td>{_e(last_push)}</td></tr></tbody></table>')


def runs_chart(health: dict) -> str:
    shown = health["runs"]
    categories = [_label(r, i) for i, r in enumerate(shown)]
    return bar_chart("runs-duration", "Wall seconds per run", categories,
                     [("wall seconds", [r["seconds"] for r in shown], "#1a73e8")], "seconds",
                     notes=[f"{r['run_id']}: {r['status']}" for r in shown])


def components_chart(health: dict) -> str:
    shown = health["runs"]
    # Components that never take half a second (the gates, the provenance record, the Pusher)
    # would be empty bars.
    nodes = [n for n in C.NODES if n not in C.RESOLVERS
             and any(((r["components"].get(n) or {}).get("seconds") or 0) >= MIN_SECONDS
                     for r in shown)]
    newest = shown[-1]["components"]
    medians = []
    for node in nodes:
        executed = [r["components"][node]["seconds"] for r in shown
                    if node in r["components"] and r["components"][node]["state"] == "COMPLETE"
                    and r["components"][node]["seconds"] is not None]
        medians.append(statistics.median(executed) if executed else None)
    return bar_chart("component-seconds", "Seconds per component", nodes,
                     [("median when executed", medians, "#1a73e8"),
                      ("newest run", [(newest.get(n) or {}).get("seconds") for n in nodes],
                       "#f29900")], "seconds", width=900)


def cache_chart(health: dict) -> str:
    shown = health["runs"]
    return bar_chart("cache-hit-rate", "Cache hit rate", [_label(r, i) for i, r in enumerate(shown)],
                     [("cached share", [r["cache_hit_rate"] for r in shown], "#5f6368")],
                     "share", y_max=1.0)


def _headline_rows(health: dict) -> List[dict]:
    """Each span's evaluation on the newest one's headline metric (a pipeline whose dataset
    changed its problem type charts the newest kind only)."""
    rows = health["headline_by_span"]
    return [r for r in rows if r["metric"] == rows[-1]["metric"]] if rows else []


def _title(health: dict) -> Optional[str]:
    """The headline metric's name for people ("AUC", "RMSE"), from the newest evaluation."""
    rows = _headline_rows(health)
    return rows[-1]["title"] if rows else None


def headline_chart(health: dict) -> str:
    rows = _headline_rows(health)
    if not rows:
        return '<p class="meta">No evaluation yet.</p>'
    newest = rows[-1]
    title, higher = newest["title"], newest["higher_is_better"]
    thresholds = [r["threshold"] for r in rows if r["threshold"] is not None]
    reference = (f"{'min' if higher else 'max'} {title}", thresholds[-1]) if thresholds else None
    notes = [f"span {r['span']}: {'blessed' if r['blessed'] else 'NOT blessed'} "
             f"(run {r['run_id']})" for r in rows]
    return bar_chart("headline-by-span", f"Test {title} per span",
                     [f"span {r['span']}" for r in rows],
                     [(title, [r["value"] for r in rows], "#1a73e8")], title,
                     y_max=1.0 if newest["metric"] in UNIT_METRICS else None,
                     reference=reference, notes=notes)


def drift_html(health: dict) -> str:
    by_span = health["drift_by_span"]
    if not by_span:
        return '<p class="meta">No drift measured yet (the first span has no baseline).</p>'
    spans = list(by_span)
    keys = sorted({(r["feature"], r["split"], r["measure"]) for rows in by_span.values()
                   for r in rows})
    head = "".join(f"<th>span {s}</th>" for s in spans)
    body = []
    for feature, split, measure in keys:
        cells = []
        for span in spans:
            row = next((r for r in by_span[span] if (r["feature"], r["split"], r["measure"])
                        == (feature, split, measure)), None)
            if row is None:
                cells.append("<td>-</td>")
                continue
            css = ' class="worse"' if not row["passed"] else ""
            cells.append(f'<td{css} data-value="{row["distance"]}" title="threshold '
                         f'{row["threshold"]:.4f}">{row["distance"]:.4f}</td>')
        body.append(f"<tr><td>{_e(feature)} ({_e(split)}, {_e(measure)})</td>{''.join(cells)}"
                    f"</tr>")
    return (f'<table class="sortable" id="drift-table"><thead><tr><th>feature</th>{head}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table><p class="meta">Distance of each '
            f'span from the last span that passed, as the drift gate measured it; red is over '
            f'the threshold (hover a cell for it).</p>')


def timeline_svg(health: dict, width: int = 1000, height: int = 150) -> str:
    """Runs, pushes, promotions and rollbacks on one time axis."""
    shown = health["runs"]
    events = health["registry_events"]
    times = [_time(r["started"]) for r in shown] + [_time(e["time"]) for e in events]
    if not times:
        return ""
    first, last = min(times), max(times)
    span = max((last - first).total_seconds(), 1.0)
    left, right = 90, 20

    def x(t: datetime.datetime) -> float:
        return left + (width - left - right) * (t - first).total_seconds() / span

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="timeline" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">',
           f'<text x="{left}" y="16" font-family="sans-serif" font-size="13" '
           f'font-weight="bold">Runs and serving changes over time</text>']
    for y, name in ((55, "runs"), (105, "serving")):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" '
                   f'stroke="#e8eaed"/><text x="8" y="{y + 4}" font-family="sans-serif" '
                   f'font-size="11">{name}</text>')
    for index, run in enumerate(shown):
        color = STATUS_COLORS.get(run["status"], "#5f6368")
        out.append(f'<a href="{_e(review_link(run["run_id"]))}"><circle class="run-mark" '
                   f'cx="{x(_time(run["started"])):.1f}" cy="55" r="6" fill="{color}">'
                   f'<title>run {index + 1}: {_e(run["run_id"])}, {_e(run["status"])}, span '
                   f'{run["span"]}</title></circle></a>')
    for event in events:
        color, mark = EVENT_MARKS.get(event["action"], ("#5f6368", "●"))
        out.append(f'<text class="serving-mark" x="{x(_time(event["time"])):.1f}" y="110" '
                   f'text-anchor="middle" font-size="14" fill="{color}">{mark}<title>'
                   f'{_e(event["action"])} version {event["version"]} to {_e(event["alias"])}'
                   f' {_e(event["time"])} {_e(event.get("reason") or "")}</title></text>')
    out.append(f'<text x="{left}" y="{height - 8}" font-family="sans-serif" font-size="11">'
               f'{_e(first.isoformat(timespec="minutes"))}</text><text x="{width - right}" '
               f'y="{height - 8}" text-anchor="end" font-family="sans-serif" font-size="11">'
               f'{_e(last.isoformat(timespec="minutes"))}</text></svg>')
    return "".join(out)


def runs_table(health: dict) -> str:
    title = _title(health)
    rows = []
    for index, run in enumerate(health["runs"]):
        evaluation = run["evaluation"] or {}
        blessed = {True: "yes", False: "NO", None: "-"}[evaluation.get("blessed")]
        failed = f' at {_e(", ".join(run["failed_at"]))}' if run["failed_at"] else ""
        rows.append(
            f'<tr><td data-value="{index + 1}">{index + 1}</td><td>{_e(run["started"])}</td>'
            f'<td><a href="{_e(review_link(run["run_id"]))}">{_e(run["run_id"])}</a></td>'
            f'<td>{_e(run["runner"])}</td><td>{_e(run["status"])}{failed}</td>'
            f'<td>{run["span"] if run["span"] is not None else "-"}</td>'
            f'<td>{fmt(run["seconds"], 1)}</td>'
            f'<td>{fmt(run["cache_hit_rate"], 2)}</td><td>{fmt(evaluation.get("value"), 4)}</td>'
            f'<td>{blessed}</td><td>{"yes" if run["pushed"] else "-"}</td></tr>')
    return ('<table class="sortable" id="runs-table"><thead><tr><th>#</th><th>started (UTC)'
            '</th><th>run (its review)</th><th>runner</th><th>status</th><th>span</th>'
            f'<th>seconds</th><th>cache hits</th><th>test {_e(title or "metric")}</th>'
            '<th>blessed</th>'
            f'<th>pushed</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            '<p class="meta">A run\'s review is written by <span class="mono">tabflow '
            'report RUN_ID</span> into this folder.</p>')


def render(health: dict) -> str:
    title = f"Pipeline health: {health['pipeline']}"
    sections = [f'<section id="summary-section"><h2>Summary</h2>{summary_html(health)}'
                f'</section>']
    if health["runs"]:
        sections += [
            f'<section id="timeline"><h2>Timeline</h2><div class="scroll">'
            f'{timeline_svg(health)}</div></section>',
            f'<section id="runs"><h2>Runs</h2><p class="meta">Numbered oldest first, as in '
            f'the table (the timeline colours them by status). The cache hit rate is the share of '
            f'components served from the cache.</p><div class="charts">{runs_chart(health)}'
            f'{cache_chart(health)}</div>{runs_table(health)}</section>',
            f'<section id="components"><h2>Components</h2><p class="meta">Components that '
            f'took {MIN_SECONDS} s or more in some run; the median counts executed runs only, '
            f'not cached ones.</p>{components_chart(health)}</section>',
            f'<section id="quality"><h2>Model quality per span</h2><p class="meta">The newest '
            f'evaluation of each span, against the {_e(_title(health) or "headline")} '
            f'threshold it was judged by.</p>{headline_chart(health)}</section>',
            f'<section id="drift"><h2>Drift per feature and span</h2>{drift_html(health)}'
            f'</section>']
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{PAGE_CSS}{CSS}</style></head><body>"
            f'<header><h1>{_e(title)}</h1><p class="meta">Generated {_e(health["generated"])}'
            f' from the MLMD store by <span class="mono">tabflow health</span>.</p>'
            f'</header><main>{"".join(sections)}</main><script>{SORT_SCRIPT}</script>'
            f'</body></html>\n')
