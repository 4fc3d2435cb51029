"""Human-readable output for the lineage commands (fits an 80-100 column terminal)."""
from typing import Dict, List, Optional

from tabflow import contract

WIDTH = 100
# The metrics shown, where the evaluation has them: each problem type computes its own
# (pipeline/eval_config.py).
KEY_METRICS = ("auc", "auc_precision_recall", "binary_accuracy", "accuracy", "precision",
               "recall", "root_mean_squared_error", "mean_absolute_error", "example_count")


def _clip(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _artifact(entry: Optional[dict]) -> str:
    if not entry:
        return "none"
    text = f"#{entry['id']} from run {entry['run']}"
    if entry.get("reuse_count"):
        text += f" (+{entry['reuse_count']} cached)"
    if entry.get("files_removed_at"):
        text += f" [files removed {entry['files_removed_at']}]"
    return text


def _wrapped(text: str, indent: str) -> List[str]:
    import textwrap
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_on_hyphens=False) or [indent]


def _metrics(metrics: Dict[str, float]) -> str:
    shown = [f"{name}={metrics[name]:.4g}" for name in KEY_METRICS if name in metrics]
    return ", ".join(shown) or "none"


def format_trace(t: dict) -> str:
    lines: List[str] = []
    push = t["push"]
    if push:
        lines += [f"Pushed model #{push['id']} -> {push['destination']}",
                  f"  pushed by run {push['run']}, version {push['version']}"]
        if push.get("aliases"):
            lines.append(f"  aliases now: {', '.join(push['aliases'])}")
        if push.get("override"):
            lines.append(f"  BLESSING OVERRIDE (promote --force): {push['override_reason']}")
        for change in push.get("alias_history") or []:
            who = f" by {change['user']}" if change["user"] else ""
            why = f": {change['reason']}" if change["reason"] else ""
            lines.append(f"  {change['time']} {change['action']} -> "
                         f"{change['alias']}{who}{why}")
    model = t["model"]
    lines += [f"Model #{model['id']}  {model['uri']}", f"  trained in run {model['run']}"]
    if model["reuse_count"]:
        lines.append(f"  reused from the cache by {model['reuse_count']} run(s), "
                     f"last by {model['last_reused_by_run']}")
    data = t["data"]
    if data:
        lines += ["", f"Data: Examples #{data['id']}, span {data['span']}, "
                      f"version {data['version']}",
                  "  fingerprint:"]
        fingerprint = (data["input_fingerprint"] or "unknown").replace(",", ", ")
        lines += _wrapped(fingerprint, "    ")
        lines += [f"  file: {f['path']} ({f['bytes']} bytes)" for f in data["files"]]
        rows = ", ".join(f"{split} {n}" for split, n in sorted(data["row_counts"].items()))
        lines.append(f"  rows: {rows or 'unknown'}")
    schema = t["schema"]
    curated, inferred = schema["curated"], schema["inferred"]
    lines += ["", f"Curated schema: {_artifact(curated)}"]
    if curated:
        lines += [f"  sha256 {curated['schema_sha256']}", f"  file {curated['schema_file']}"]
    lines.append(f"Inferred schema: {_artifact(inferred)}")
    if inferred:
        changes = inferred.get("differences_from_curated", [])
        lines.append(f"  {len(changes)} feature difference(s) from the curated schema")
        lines += [f"    {c}" for c in changes[:10]]
    anomalies = t["anomalies"]
    if anomalies:
        found = [f"{split}: {line}" for split, items in sorted(anomalies["by_split"].items())
                 for line in items]
        lines.append(f"Anomalies: {_artifact(anomalies)}: "
                     f"{'none' if not found else str(len(found)) + ' found'}")
        lines += [f"  {line}" for line in found]
    lines += ["", f"Transform graph: {_artifact(t['transform'])}"]
    hyper = t["hyperparameters"]
    lines.append(f"Hyperparameters: {_artifact(hyper)}")
    if hyper:
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in (hyper["values"] or {}).items()))
        search = hyper.get("search")
        if search and search["reused_from"]:
            lines.append(f"  reused from the search in run {search['tuned_in_run']} on span "
                         f"{search['tuned_on_span']} (hyperparameters #{search['reused_from']})")
        elif search:
            lines.append(f"  searched in this run, on span {search['tuned_on_span']}")
        trials = (hyper.get("tuner_results") or {}).get("trials") or []
        if trials:
            best = max(trials, key=lambda r: r.get("score") or 0)
            lines.append(f"  tuner: {len(trials)} trial(s), best score {best.get('score')}")
    evaluation, blessing = t["evaluation"], t["blessing"]
    split = f" (on the {', '.join(evaluation['splits'])} split)" if evaluation and \
        evaluation.get("splits") else ""
    lines += ["", f"Evaluation: {_artifact(evaluation)}{split}"]
    if evaluation:
        lines += _wrapped(_metrics(evaluation["metrics"]["candidate"]), "  ")
    if blessing:
        verdict = "BLESSED" if blessing["blessed"] else "NOT blessed"
        baseline = blessing.get("baseline_model_id")
        against = (f"against baseline model #{baseline} (run {blessing.get('baseline_run')})"
                   if baseline is not None else "with no baseline (first blessed model)")
        lines.append(f"Blessing #{blessing['id']}: {verdict} {against}")
    prov = t["provenance"]
    lines += ["", f"Code: git {prov['git_commit']} (dirty: {prov['git_dirty']}), "
                  f"runner {prov['runner']}", f"  modules sha256 {prov['code_sha256']}"]
    return "\n".join(_clip(line) for line in lines)


def format_impact(r: dict) -> str:
    lines = [f"Examples #{e['id']} (span {e['span']}, run {e['run']})" for e in r["examples"]]
    for type_name, entries in r["derived"].items():
        lines.append(f"{type_name}: {len(entries)}")
        for e in entries:
            extra = ""
            if type_name == contract.MODEL_BLESSING_TYPE:
                extra = f"  model #{e['model_id']} {'blessed' if e['blessed'] else 'NOT blessed'}"
            if type_name == contract.PUSHED_MODEL_TYPE:
                extra = f"  {e['destination']}" + ("  <- SERVING NOW" if e["serving_now"] else "")
            lines.append(f"  #{e['id']:<5} run {e['run']}{extra}")
    lines.append("Serving now:")
    for s in r["serving_now"] or [{"base_directory": "nothing", "pushed_model_id": None,
                                   "derived_from_these_examples": None}]:
        if s["pushed_model_id"] is None:
            lines.append("  nothing is being served")
            continue
        mark = "derived from these examples" if s["derived_from_these_examples"] else \
            "NOT derived from these examples"
        lines.append(f"  #{s['pushed_model_id']} in {s['base_directory']} ({mark})")
    if "aliased_versions" in r:
        lines.append("Aliased versions:")
        for v in r["aliased_versions"] or []:
            mark = "DERIVED from these examples" if v["derived_from_these_examples"] else \
                "not derived from them"
            lines.append(f"  version {v['version']} ({', '.join(v['aliases'])}): {mark}")
        if not r["aliased_versions"]:
            lines.append("  none")
        target = r["rollback_target"]
        lines.append(f"Rollback target (newest version not derived from them): "
                     f"{'none' if target is None else target}")
    return "\n".join(_clip(line) for line in lines)


def _short(value):
    """Long hashes shortened like git does; other values as they are."""
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return value


def _dict_changes(a: Optional[dict], b: Optional[dict]) -> str:
    a, b = a or {}, b or {}
    return ", ".join(f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b))
                     if a.get(k) != b.get(k))


def drift_gate_lines(label: str, gate: dict) -> List[str]:
    """One run's drift gate: its state and baseline, then each measurement it used."""
    if gate["state"] is None:
        return [f"{label}: no drift gate in this run"]
    baseline = ("no baseline" if gate["baseline_span"] is None
                else f"baseline span {gate['baseline_span']} "
                     f"(statistics #{gate['baseline_statistics_id']})")
    if gate["state"] == "FAILED":
        baseline = "stopped the run (see the run's log for each drifted feature)"
    lines = [f"{label}: {gate['state']}, {baseline}"]
    lines += [f"  {r['feature']:<20} {r['split']:<6} {r['measure']:<15} "
              f"{r['distance']:.4f} / {r['threshold']:.4f} {'ok' if r['passed'] else 'DRIFTED'}"
              for r in gate["features"]]
    return lines


def format_diff(d: dict) -> str:
    def show(name, change):
        if change is None:
            return f"  {name}: same"
        return f"  {name}: {_short(change['a'])} -> {_short(change['b'])}"

    def judged(side):
        bl = d["blessing"][side]
        if bl["blessed"] is None:
            return "not evaluated"
        baseline = bl["baseline_model_id"]
        return (f"{'blessed' if bl['blessed'] else 'NOT blessed'}"
                f"{f' vs baseline #{baseline}' if baseline is not None else ' (no baseline)'}"
                f", {'pushed' if bl['pushed'] else 'not pushed'}")

    def rows(counts):
        return ", ".join(f"{split} {n}" for split, n in sorted(counts.items())) or "-"

    data = d["data"]
    lines = [f"A: {d['a']}  {d['status']['a']}", f"B: {d['b']}  {d['status']['b']}", "Data:",
             show("examples", data["examples_id"]), show("span", data["span"])]
    fingerprint = data["input_fingerprint"]
    if fingerprint is None:
        lines.append("  fingerprint: same")
    else:
        lines.append("  fingerprint:")
        for side in ("a", "b"):
            text = (fingerprint[side] or "none").replace(",", ", ")
            lines += _wrapped(f"{side.upper()} {text}", "    ")
    lines += [f"  rows: {rows(data['row_counts']['a'])} -> {rows(data['row_counts']['b'])}",
             f"  anomalies: {data['anomalies']['a']} -> {data['anomalies']['b']}", "Schema:",
             show("curated sha256", d["schema"]["curated_sha256"]),
             f"  inferred feature changes: {len(d['schema']['inferred_feature_changes'])}"]
    lines += [f"    {c}" for c in d["schema"]["inferred_feature_changes"]]
    lines.append("Statistics that moved most (A -> B):" if d["statistics_drift"]
                 else "Statistics: same statistics artifact or none to compare (no drift)")
    lines += [f"  {s['feature']:<28} {s['split']:<6} {s['measure']:<15} {s['distance']:.4f}"
              for s in d["statistics_drift"]]
    lines.append("Drift gate (distances against the last span that passed):")
    for side in ("a", "b"):
        lines += [f"  {line}" for line in drift_gate_lines(side.upper(), d["drift_gate"][side])]
    hyper = d["hyperparameters"]
    if hyper is None:
        hyper_text = "same"
    elif hyper["a"] is None or hyper["b"] is None:
        hyper_text = f"{'none' if hyper['a'] is None else 'set'} -> " \
                     f"{'none' if hyper['b'] is None else 'set'}"
    else:
        hyper_text = _dict_changes(hyper["a"], hyper["b"])
    lines += ["Model:", show("model", d["model_id"]), f"  hyperparameters: {hyper_text}"]
    for name, pair in d["metrics"].items():
        if name in KEY_METRICS:
            a, b = pair["a"], pair["b"]
            lines.append(f"  {name:<22} {'-' if a is None else f'{a:.4f}':>10} -> "
                         f"{'-' if b is None else f'{b:.4f}':>10}")
    lines += [f"  A: {judged('a')}", f"  B: {judged('b')}"]
    prov = d["provenance"]
    lines += ["Code:", show("git commit", prov["git_commit"]),
              show("code sha256", prov["code_sha256"]),
              f"  runner: {prov['runner']['a']} -> {prov['runner']['b']}",
              f"  changed files: {', '.join(prov['changed_files']) or 'none'}"]
    return "\n".join(_clip(line) for line in lines)


def format_runs(rows: List[dict]) -> str:
    lines = [f"{'run id':<38} {'runner':<8} {'status':<9} {'seconds':>8} {'span':>5} pushed"]
    for r in rows:
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        span = "-" if r["span"] is None else str(r["span"])
        failed = [node for node, state in r["components"].items() if state == "FAILED"]
        where = f"  at {', '.join(failed)}" if failed else ""
        lines.append(f"{r['run_id'][:38]:<38} {r['runner'][:8]:<8} {r['status'][:9]:<9} "
                     f"{seconds:>8} {span:>5} {'yes' if r['pushed'] else 'no':<6}{where}".rstrip())
    return "\n".join(_clip(line) for line in lines)
