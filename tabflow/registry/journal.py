"""The serving folder's journal: a note of what a push, promote or rollback is about to change,
written before it changes anything and removed when it is done, so a process killed part-way
leaves a note the next command acts on.

MLMD is authoritative: a push or an alias change counts once MLMD records it. The files follow
it, never the other way round: the model config, the version records and the version folders
change only under the registry lock (tabflow/registry/lock.py) and only while the operation's entry
exists, so an entry found by a command that holds the lock belongs to a process that died.
That command undoes the dead operation's file changes that MLMD does not record (the alias it
moved goes back, the version it installed and its record go, so the next run pushes that model
again); when MLMD did record it (a promote killed between its MLMD write and the entry's
removal), only the entry goes.

A push's entry is removed when the Pusher's executor has changed the files, and TFX records the
push after the executor returns: an entry left by a push was never recorded, so the Pusher can
repair it without MLMD. A promote's or rollback's entry needs MLMD to tell, and is left to the
registry commands (tabflow/registry/consistency.py).
"""
import datetime
import json
import os
import signal
import socket
import uuid
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional

from tabflow import environment
from tabflow.registry import serving

JOURNAL_FOLDER = ".registry-journal"
CRASH = "TEST_CRASH_AT"
CRASH_VARIABLE = environment.name(CRASH)
PUSH = "push"


def crash_point(window: str) -> None:
    """For the crash tests only: TABFLOW_TEST_CRASH_AT=<window> kills this process there, as
    kill -9 would."""
    if environment.get(CRASH) == window:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Entry:
    op: str                      # push, promote, promote --force or rollback
    alias: str
    version: int
    previous: Optional[int]      # the alias's version before, None if it had none
    installed: bool = False      # the operation installs `version` itself
    model_uri: str = ""
    user: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    since: str = field(default_factory=lambda: datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds"))

    def describe(self) -> str:
        who = f" by {self.user}" if self.user else ""
        return (f"{self.op} of {self.alias} -> version {self.version}{who} (pid {self.pid} on "
                f"{self.host}, {self.since})")


def _path(serving_dir: str, entry_id: str) -> str:
    return os.path.join(serving_dir, JOURNAL_FOLDER, f"{entry_id}.json")


def write(serving_dir: str, entry: Entry) -> Entry:
    serving.write_atomically(_path(serving_dir, entry.id), json.dumps(asdict(entry),
                                                                      sort_keys=True))
    return entry


def remove(serving_dir: str, entry: Entry) -> None:
    path = _path(serving_dir, entry.id)
    if os.path.exists(path):
        os.unlink(path)


def entries(serving_dir: str) -> List[Entry]:
    folder = os.path.join(serving_dir, JOURNAL_FOLDER)
    if not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue  # a temporary file of a write that was killed
        with open(os.path.join(folder, name)) as f:
            out.append(Entry(**json.load(f)))
    return sorted(out, key=lambda e: e.since)


def undo(serving_dir: str, entry: Entry) -> str:
    """Puts back what the dead operation changed; returns what was done, as one phrase."""
    done = []
    labels = serving.read_labels(serving_dir)
    if labels.get(entry.alias) == entry.version:
        if entry.previous is not None and entry.previous in serving.versions(serving_dir):
            labels[entry.alias] = entry.previous
            done.append(f"{entry.alias} back to version {entry.previous}")
        else:
            del labels[entry.alias]
            done.append(f"{entry.alias} removed from {serving.config_path(serving_dir)} "
                        f"(it had no version before)")
        if labels:
            serving.write_labels(serving_dir, labels)
        else:
            os.unlink(serving.config_path(serving_dir))
    if entry.installed:
        record = serving.records(serving_dir).get(entry.version)
        if record is None or record.model_uri == entry.model_uri:
            if entry.version in serving.versions(serving_dir):
                serving.remove_version(serving_dir, entry.version)
                done.append(f"removed version {entry.version} it installed")
            serving.remove_record(serving_dir, entry.version)
    remove(serving_dir, entry)
    return "; ".join(done) or "it had changed nothing yet"


def repair(serving_dir: str, recorded: Optional[Callable[[Entry], Optional[str]]]) -> List[str]:
    """Under the registry lock: settles every entry a dead operation left, and removes the
    hidden copies a killed install left. `recorded(entry)` says where MLMD records an alias
    change (None if it does not); without it (the Pusher has no MLMD) only pushes' entries are
    settled. Returns one line per thing done."""
    lines = [f"repaired: removed {name}, left by an install that was killed"
             for name in serving.remove_leftovers(serving_dir)]
    for entry in entries(serving_dir):
        if entry.op == PUSH:
            lines.append(f"repaired: the {entry.describe()} was killed before MLMD recorded "
                         f"it: {undo(serving_dir, entry)}; the next run pushes that model again")
            continue
        if recorded is None:
            continue
        where = recorded(entry)
        if where is not None:
            remove(serving_dir, entry)
            lines.append(f"completed: the {entry.describe()} was recorded in MLMD ({where}) "
                         f"before its process died")
        else:
            lines.append(f"repaired: the {entry.describe()} was killed before MLMD recorded "
                         f"it: {undo(serving_dir, entry)}")
    return lines


def pending(serving_dir: str) -> List[str]:
    """Each entry of a dead or running operation, for a command that only reads."""
    return [f"interrupted: the {e.describe()} did not finish; the next promote, rollback, gc "
            f"or models settles it" for e in entries(serving_dir)]
