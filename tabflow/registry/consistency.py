"""The serving folder against MLMD, at the start of every registry command: the journal entries
dead operations left are settled (tabflow/registry/journal.py says how, and why MLMD is
authoritative), then whatever still differs is reported, one line each, and left as it is:
models.config is what the server obeys, and a person may have edited it on purpose.

Reported:
- a version folder no push in MLMD names: a push killed after its executor returned but before
  TFX recorded it (`models` does not list such a version and gc never removes it);
- an alias in models.config at a version MLMD has no push of, or that no recorded push, promote
  or rollback ever pointed it at;
- an alias whose last change recorded in MLMD points elsewhere than models.config (a recorded
  change whose models.config write was lost or undone by hand).
"""
from typing import Dict, List, Optional

from ml_metadata import errors as mlmd_errors

from tabflow import contract as C
from tabflow.registry import catalog, journal, serving


def execution_name(entry_id: str) -> str:
    """The name of the alias-change execution recording a journal entry's change."""
    return f"alias-change-{entry_id}"


def _recorded(store, entry: journal.Entry) -> Optional[str]:
    try:
        execution = store.get_execution_by_type_and_name(C.ALIAS_CHANGE_TYPE,
                                                          execution_name(entry.id))
    except mlmd_errors.NotFoundError:
        return None
    return None if execution is None else f"execution {execution.id}"


def settle(store, serving_dir: str) -> List[str]:
    """Under the registry lock: settles what dead operations left, then reports the rest."""
    return journal.repair(serving_dir, lambda entry: _recorded(store, entry)) + \
        check(store, serving_dir)


def report(store, serving_dir: str) -> List[str]:
    """Without the lock (a dry run): what the next command would settle, and the rest."""
    return journal.pending(serving_dir) + check(store, serving_dir)


def check(store, serving_dir: str) -> List[str]:
    if not serving.is_local(serving_dir):
        return []
    known = catalog.pushed_versions(store, serving_dir)
    unsettled = {e.version for e in journal.entries(serving_dir)}
    records = serving.records(serving_dir)
    lines = []
    for version in serving.versions(serving_dir):
        if version in known or version in unsettled:
            continue
        record = records.get(version)
        source = f"model {record.model_uri}" if record else "no record"
        lines.append(f"inconsistent: version {version} in {serving_dir} ({source}) has no push "
                     f"recorded in MLMD: `models` does not list it and gc never removes it")
    labels = serving.read_labels(serving_dir)
    last: Dict[str, int] = {}
    last_action: Dict[str, str] = {}
    for event in catalog.history(store, serving_dir):
        last[event["alias"]] = event["version"]
        last_action[event["alias"]] = f"{event['action']} at {event['time']}"
    for alias in sorted(set(labels) | set(last)):
        in_config, in_mlmd = labels.get(alias), last.get(alias)
        if in_config == in_mlmd or in_config in unsettled:
            continue
        if in_config is not None and in_config not in known:
            lines.append(f"inconsistent: models.config points {alias} at version {in_config}, "
                         f"which has no push recorded in MLMD")
        elif in_mlmd is None:
            lines.append(f"inconsistent: models.config points {alias} at version {in_config}, "
                         f"but MLMD records no push, promote or rollback of {alias}")
        else:
            shown = "nothing" if in_config is None else f"version {in_config}"
            lines.append(f"inconsistent: MLMD's last change of {alias} ({last_action[alias]}) "
                         f"points it at version {in_mlmd}, models.config at {shown}")
    return lines
