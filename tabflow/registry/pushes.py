"""A push into the serving folder, as the pipeline's Pusher (pipeline/push.py) makes it: under
the registry lock and through a journal entry (tabflow/registry/journal.py), so a push killed part-way
is undone by the next push or registry command.

The Pusher waits up to PUSH_WAIT_SECONDS for the lock: a run must not fail because someone was
promoting a version.
"""
import logging

from tabflow import contract
from tabflow.registry import journal, serving
from tabflow.registry.lock import serving_lock

PUSH_WAIT_SECONDS = 600.0


def settle(serving_dir: str) -> None:
    """Under the lock: undoes what killed pushes left (no MLMD needed, see journal.py)."""
    for line in journal.repair(serving_dir, recorded=None):
        logging.warning("%s: %s", serving_dir, line)


def publish(serving_dir: str, model_path: str, model_uri: str, pushed_model_uri: str,
            wait_seconds: float = PUSH_WAIT_SECONDS) -> int:
    """Installs the model as a new version, records it and makes it the `serving` alias."""
    with serving_lock(serving_dir, "push", wait_seconds):
        settle(serving_dir)
        return publish_locked(serving_dir, model_path, model_uri, pushed_model_uri)


def publish_locked(serving_dir: str, model_path: str, model_uri: str,
                   pushed_model_uri: str) -> int:
    """publish, for a caller that holds the lock and has settled the folder."""
    labels = serving.read_labels(serving_dir)
    entry = journal.write(serving_dir, journal.Entry(
        journal.PUSH, contract.SERVING_ALIAS, serving.next_version(serving_dir),
        labels.get(contract.SERVING_ALIAS), installed=True, model_uri=model_uri))
    try:
        journal.crash_point("push-journaled")
        # Under the lock no other install can take the number the entry names.
        version = serving.install_version(model_path, serving_dir, now=entry.version)
        journal.crash_point("push-installed")
        serving.write_record(serving_dir, serving.VersionRecord(version, model_uri,
                                                                pushed_model_uri))
        journal.crash_point("push-recorded")
        labels[contract.SERVING_ALIAS] = version
        serving.write_labels(serving_dir, labels)
        journal.crash_point("push-config-written")
    except BaseException:
        journal.undo(serving_dir, entry)
        raise
    journal.remove(serving_dir, entry)
    return version
