"""`tabflow notify`: tell the configured channels about a past run (or, with --dry-run,
print what they would receive) to check the alerts settings or repeat a lost notification."""
import json
import sys

from tabflow.console.settings import add_config_arguments


def cmd_notify(args) -> int:
    from tabflow.alerts import channels as ch
    from tabflow.alerts.notify import outcome_of
    from tabflow import config as config_lib
    config = config_lib.from_sources(args)
    outcome = outcome_of(config, args.run, args.error)
    print(outcome.text())
    if args.dry_run:
        body = ch.slack_body(outcome) if config.alerts.webhook_format == "slack" \
            else ch.json_body(outcome)
        print(f"\nwebhook body ({config.alerts.webhook_format}):")
        print(json.dumps(body, indent=2, default=str))
        return 0
    configured = ch.channels(config.alerts)
    if not configured:
        print(f"ERROR: no channel configured: set {ch.WEBHOOK_URL_VARIABLE}, or smtp_host and "
              "alert_email_to", file=sys.stderr)
        return 2
    if outcome.kind not in config.alerts.alert_on:
        print(f"not sent: alert_on ({', '.join(config.alerts.alert_on)}) leaves out "
              f"{outcome.kind}")
        return 0
    results = ch.deliver(outcome, config.alerts)
    for channel, problem in results.items():
        print(f"{channel}: " + ("delivered" if problem is None else f"FAILED: {problem}"))
    return 0 if all(problem is None for problem in results.values()) else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("notify", help="send a run's outcome to the alerts channels "
                                             "(webhook, e-mail) again, or show it")
    p.add_argument("--run", default="latest",
                   help="latest (default), previous or a run id as `lineage runs` lists it")
    p.add_argument("--error", help="the failure's text, which MLMD does not keep")
    p.add_argument("--dry-run", action="store_true",
                   help="print the outcome and the webhook body; send nothing")
    add_config_arguments(p, ("store", "alerts"))
    p.set_defaults(func=cmd_notify)
