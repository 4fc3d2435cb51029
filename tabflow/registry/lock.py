"""One writer at a time in a serving folder: pushes, promote, rollback and gc take an exclusive
lock on `<serving folder>/.registry.lock` before they change the model config, the version
records or the version folders.

The lock is fcntl.flock, which the kernel drops when its holder dies (kill -9 included), so
there is never a stale lock to clean up. The holder writes who it is into the file, so a
command that gives up waiting can name it.

A serving folder that is not local (gs://) has no flock: no lock is taken there, and the
registry commands refuse such a folder anyway (tabflow/registry/serving.py).
"""
import contextlib
import datetime
import fcntl
import getpass
import json
import os
import socket
import time

from tabflow.registry import serving

LOCK_FILE = ".registry.lock"
_POLL_SECONDS = 0.2


class RegistryBusy(ValueError):
    """Another process holds the serving folder's lock; the message names it, in one line."""


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return "unknown"


def _holder_text(what: str) -> str:
    return json.dumps({"command": what, "pid": os.getpid(), "host": socket.gethostname(),
                       "user": current_user(),
                       "since": datetime.datetime.now(datetime.timezone.utc)
                       .isoformat(timespec="seconds")}, sort_keys=True)


def holder(serving_dir: str) -> str:
    """Who holds (or last held) the lock, as one phrase."""
    try:
        with open(os.path.join(serving_dir, LOCK_FILE)) as f:
            data = json.loads(f.read() or "{}")
    except (OSError, ValueError):
        data = {}
    if not data:
        return "another process"
    return (f"{data.get('command', '?')} (pid {data.get('pid', '?')} on "
            f"{data.get('host', '?')}, user {data.get('user', '?')}, since "
            f"{data.get('since', '?')})")


@contextlib.contextmanager
def serving_lock(serving_dir: str, what: str, wait_seconds: float):
    """Holds the serving folder's lock for the block; raises RegistryBusy when another
    process keeps it for longer than wait_seconds."""
    if not serving.is_local(serving_dir):
        yield  # no flock on an object store: see the module docstring
        return
    serving.make_dirs(serving_dir)
    path = os.path.join(serving_dir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o644)  # whatever the umask: other users' commands wait on it too
        deadline = time.monotonic() + max(0.0, wait_seconds)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RegistryBusy(
                        f"{serving_dir} is busy: {holder(serving_dir)} holds its registry "
                        f"lock; waited {wait_seconds:g} s (--wait SECONDS to wait longer)"
                    ) from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_text(what).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing drops the flock
