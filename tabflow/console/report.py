"""`tabflow report`: a run's model review as one self-contained HTML file.

Reads the MLMD store and the artifacts it names; imports no TensorFlow, TFX or TFMA, so it
takes about a second.
"""
import json
import os
import sys

from tabflow.console.settings import add_config_arguments, open_store

# The report reads the store, and writes under output_root by default.
SECTIONS = ("store",)


def default_output(output_root: str, run_id: str) -> str:
    from tabflow.review.page import file_name
    return os.path.join(output_root, "reports", file_name(run_id))


def cmd_report(args) -> int:
    from tabflow.review import collect, page
    config, store = open_store(args)
    review = collect.collect(store, config.pipeline_name, args.run, config.serving_dir)
    if review["unreadable"]:  # a review missing what a file holds would mislead
        print(f"ERROR: {review['unreadable'][0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(review, indent=2, sort_keys=True, default=str))
        return 0
    output = args.output or default_output(config.output_root, review["run"]["id"])
    page.write(output, page.render(review))
    evaluation = review["evaluation"]
    if evaluation is None:
        outcome = "no evaluation in this run"
    else:
        outcome = "blessed" if evaluation["blessed"] else "NOT blessed"
        headline = evaluation["headline"] or {}
        value = evaluation["overall"].get("candidate", {}).get(headline.get("metric"))
        if value is not None:
            outcome += f", {headline['title']} {value:.4f}"
    print(f"Review of run {review['run']['id']} ({outcome}) written to {output}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML model review of a run",
        description="Write a model review of a run as one HTML file that opens offline: "
                    "headline metrics beside the baseline's, thresholds, metrics by slice, "
                    "plots (ROC/PR/calibration or the confusion matrix), data statistics and "
                    "anomalies, the run's lineage graph and provenance.")
    p.add_argument("run", nargs="?", default="latest",
                   help="run id (see `tabflow lineage runs`), 'latest' (default) or "
                        "'previous'")
    p.add_argument("--output", help="HTML file to write "
                                    "(default: <output_root>/reports/review-<run id>.html)")
    p.add_argument("--json", action="store_true", help="print the review data as JSON instead")
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_report)
