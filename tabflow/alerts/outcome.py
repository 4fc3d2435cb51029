"""What a finished run amounts to, told to people who did not watch it.

One of five kinds, with the reasons a reader acts on:
- failed: which component, and its error;
- stopped: at the data gate (each feature and its anomaly) or the drift gate (each measurement
  that drifted); no model was trained;
- not_blessed: each Evaluator check the model failed (metric, value, threshold);
- pushed: the serving version, the test value of the headline metric (the one the Evaluator
  gated on: AUC, accuracy, RMSE) and its change against the baseline;
- unchanged: nothing new was pushed (a cached rerun, or a model that already serves);
- succeeded: a Vertex AI run ended well; its blessing and push are in Vertex ML Metadata, which
  the exit handler that sends this cannot read (pipeline/exit_notify.py).

Built from the run's review (tabflow/review/collect.py), so it reads MLMD through the one metadata
layer, plus the error text the runner caught, which MLMD does not keep.
"""
import dataclasses
from typing import Any, Dict, List, Optional

from tabflow import contract as C

KINDS = ("failed", "stopped", "not_blessed", "pushed", "unchanged", "succeeded")
# A reason list this long is cut, with a count of what was left out.
MAX_REASONS = 20


@dataclasses.dataclass
class Outcome:
    kind: str
    pipeline: str
    run_id: str
    runner: str
    title: str
    reasons: List[str]
    # Machine-readable: component, error, gate, version, metric (the headline's key), value,
    # baseline_value, change...
    facts: Dict[str, Any]

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def text(self) -> str:
        lines = [self.title]
        lines += [f"  - {r}" for r in self.reasons]
        lines.append(f"run {self.run_id} ({self.runner}), pipeline {self.pipeline}")
        return "\n".join(lines)


def _cut(reasons: List[str]) -> List[str]:
    if len(reasons) <= MAX_REASONS:
        return reasons
    return reasons[:MAX_REASONS] + [f"... and {len(reasons) - MAX_REASONS} more"]


def _error_reasons(error: Optional[str]) -> List[str]:
    """The bullet lines of a gate's error ("  - ..."), else its non-empty lines."""
    if not error:
        return []
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    bullets = [line[2:] for line in lines if line.startswith("- ")]
    return bullets or lines


def _anomaly_reasons(by_split: Dict[str, List[str]]) -> List[str]:
    """One line per anomaly, naming the splits it was found in (the same problem in every
    split is one line, not three)."""
    splits: Dict[str, List[str]] = {}
    for split, lines in sorted(by_split.items()):
        for line in lines:
            splits.setdefault(line, []).append(split)
    return [f"{line} ({', '.join(names)} split{'s' if len(names) > 1 else ''})"
            for line, names in splits.items()]


def _headline(evaluation: dict) -> Dict[str, Any]:
    """The headline metric's key and title, its candidate and baseline values and their
    change (None where unknown)."""
    headline = evaluation.get("headline") or {}
    metric, overall = headline.get("metric"), evaluation.get("overall", {})

    def value(side: str) -> Optional[float]:
        found = (overall.get(side) or {}).get(metric) if metric else None
        return float(found) if found is not None else None

    candidate, baseline = value("candidate"), value("baseline")
    return {"metric": metric, "title": headline.get("title") or metric, "value": candidate,
            "baseline_value": baseline,
            "change": candidate - baseline if None not in (candidate, baseline) else None}


def from_review(review: dict, error: Optional[str] = None,
                failed_component: Optional[str] = None) -> Outcome:
    """The outcome of the run `review` describes; `error`: the failure's text when known;
    `failed_component`: the component the orchestrator saw fail, where MLMD does not record
    the failure (Airflow's legacy launcher leaves it RUNNING)."""
    run = review["run"]
    base = dict(pipeline=review["pipeline"], run_id=run["id"], runner=run["runner"])
    failed = list(run["failed_at"])
    if failed_component and failed_component not in failed:
        failed.append(failed_component)
    evaluation, push, data = review.get("evaluation"), review.get("push"), review.get("data", {})
    facts: Dict[str, Any] = {"status": run["status"], "seconds": run["seconds"],
                             "span": data.get("span")}

    if C.ANOMALY_GATE in failed:
        reasons = _anomaly_reasons(data.get("anomalies") or {}) or _error_reasons(error)
        facts.update(gate="data", component=C.ANOMALY_GATE, error=error)
        return Outcome(kind="stopped", title=f"{review['pipeline']}: span {data.get('span')} "
                       f"STOPPED AT THE DATA GATE: no model was trained",
                       reasons=_cut(reasons), facts=facts, **base)
    if C.DRIFT_GATE in failed:
        facts.update(gate="drift", component=C.DRIFT_GATE, error=error)
        return Outcome(kind="stopped", title=f"{review['pipeline']}: span {data.get('span')} "
                       f"STOPPED AT THE DRIFT GATE: it drifted from the last span that passed; "
                       f"no model was trained",
                       reasons=_cut(_error_reasons(error)), facts=facts, **base)
    if failed or error or run["status"] in ("FAILED", "ABANDONED"):
        component = failed[0] if failed else None
        facts.update(component=component, error=error)
        where = f"at {', '.join(failed)}" if failed else "before any component failed"
        first_line = (error or "").strip().splitlines()[:1]
        return Outcome(kind="failed", title=f"{review['pipeline']}: run FAILED {where}",
                       reasons=first_line or [f"run status {run['status']}; see the log file"],
                       facts=facts, **base)

    if evaluation is not None and evaluation.get("blessed") is False:
        checks = [c for c in evaluation.get("threshold_checks", []) if c["passed"] is False]
        reasons = [f"{c['metric']}: {_fmt(c['value'])}, needs {c['rule']}" for c in checks] \
            or ["the Evaluator's validation failed (see the review)"]
        headline = _headline(evaluation)
        facts.update(failed_checks=checks, metric=headline["metric"], value=headline["value"],
                     baseline_value=headline["baseline_value"])
        return Outcome(kind="not_blessed", title=f"{review['pipeline']}: the model of span "
                       f"{data.get('span')} was NOT BLESSED and not pushed",
                       reasons=reasons, facts=facts, **base)

    if push and push.get("pushed") and push.get("state") == "COMPLETE":
        headline = _headline(evaluation or {})
        change, baseline = headline["change"], headline["baseline_value"]
        facts.update(version=push.get("version"), destination=push.get("destination"),
                     metric=headline["metric"], value=headline["value"],
                     baseline_value=baseline, change=change)
        reasons = [f"serving version {push.get('version')} at {push.get('destination')}"]
        if headline["metric"]:
            reasons.append(f"test {headline['title']} {_fmt(headline['value'])}" + (
                f" ({change:+.4f} against the baseline's {_fmt(baseline)})"
                if change is not None else " (no baseline: the first blessed model)"))
        return Outcome(kind="pushed", title=f"{review['pipeline']}: span {data.get('span')} "
                       f"model BLESSED and pushed as version {push.get('version')}",
                       reasons=reasons, facts=facts, **base)

    facts.update(version=(push or {}).get("version"))
    why = ("the model already serves (pushed by an earlier run)" if push
           else "no model was evaluated in this run")
    return Outcome(kind="unchanged", title=f"{review['pipeline']}: nothing new pushed",
                   reasons=[why], facts=facts, **base)


def from_final_status(final_status: str, pipeline: str) -> Outcome:
    """The outcome Vertex's exit handler gets: a PipelineTaskFinalStatus as JSON ("state",
    "error": {"code", "message"}, "pipelineJobResourceName", ...)."""
    import json
    status = json.loads(final_status or "{}")
    state = status.get("state", "UNKNOWN")
    job = status.get("pipelineJobResourceName") or status.get("pipelineJobName") or "?"
    base = dict(pipeline=pipeline, run_id=job, runner="vertex")
    facts = {"state": state, "pipeline_job": job}
    if state == "SUCCEEDED":
        return Outcome(kind="succeeded", title=f"{pipeline}: Vertex AI run SUCCEEDED",
                       reasons=["the model's blessing and push are in Vertex ML Metadata"],
                       facts=facts, **base)
    message = (status.get("error") or {}).get("message") or f"final state {state}"
    facts.update(error=message, component=None)
    return Outcome(kind="failed", title=f"{pipeline}: Vertex AI run {state}",
                   reasons=message.strip().splitlines()[:1], facts=facts, **base)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
