"""One run at a time per pipeline and store: a lease held in the MLMD store itself.

Why in MLMD and not a lock file: a MySQL/MariaDB store is shared by runs on several hosts and
containers, which share no file system; every one of them can write the store. MLMD has no
compare-and-set, but it refuses a second context of one type with the same name
(AlreadyExistsError), and that is enough: the lock is a chain of contexts of type
contract.LOCK_CONTEXT named "<pipeline>#<generation>". Whoever creates generation N+1 holds the
lock; creating it fails for everyone else. The holder renews `lease_until` while it lives and
marks the generation released when it ends.

A generation is free when it was released, when its lease has expired (its holder was killed,
or lost its host: after at most `lease_seconds` the next writer takes over), or at once when
its holder is a process of this very machine that is gone (runs.process_gone_here).

Clocks: leases compare wall clocks of different hosts; keep them in sync (NTP) and the lease a
good deal longer than any skew.
"""
import contextlib
import datetime
import getpass
import logging
import threading
import time
from dataclasses import dataclass
from typing import Optional

from ml_metadata import errors as mlmd_errors
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tabflow.metadata import runs
from tabflow.metadata.errors import StoreError
from tabflow.metadata.graph import custom, set_custom
from tabflow import contract as C

# A live holder renews every LEASE_SECONDS / 4; a killed one is replaced LEASE_SECONDS after
# its last renewal (at once on its own machine).
LEASE_SECONDS = 120.0
_POLL_SECONDS = 1.0

_HOLDER, _USER, _SINCE, _LEASE, _RELEASED = ("holder", "user", "since", "lease_until",
                                              "released")


class LockBusy(StoreError):
    """Another holder has the lock: one line naming it (the console exits 2)."""


def _now() -> float:
    return time.time()


def _utc(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def _type_id(store) -> int:
    return store.put_context_type(mlmd_pb2.ContextType(name=C.LOCK_CONTEXT))


def _name(pipeline_name: str, generation: int) -> str:
    return f"{pipeline_name}#{generation}"


def _latest(store, type_id: int, pipeline_name: str):
    """(generation, context) of the newest generation, (0, None) when there is none.

    Generations are probed by name, doubling then bisecting, so finding the newest costs
    O(log n) reads of single contexts however long the chain has grown."""
    def get(n):
        return store.get_context_by_type_and_name(C.LOCK_CONTEXT, _name(pipeline_name, n))
    if get(1) is None:
        return 0, None
    low, high = 1, 2
    while get(high) is not None:
        low, high = high, high * 2
    while high - low > 1:  # get(low) exists, get(high) does not
        middle = (low + high) // 2
        if get(middle) is None:
            high = middle
        else:
            low = middle
    return low, get(low)


def describe(context) -> str:
    """Who holds a generation, for messages: "run R (pid P on host H, since T)"."""
    where = (f"pid {custom(context, C.RUN_PID_PROPERTY)} on host "
             f"{custom(context, C.RUN_HOST_PROPERTY)}")
    user = custom(context, _USER)
    return (f"{custom(context, _HOLDER)} ({where}{', user ' + user if user else ''}, "
            f"since {_utc(custom(context, _SINCE, 0))})")


def is_free(context, now: Optional[float] = None) -> bool:
    if context is None or custom(context, _RELEASED):
        return True
    if custom(context, _LEASE, 0) < (now or _now()):
        return True
    return runs.process_gone(context)


def holder(store, pipeline_name: str) -> Optional[str]:
    """Who holds the pipeline's lock now (describe()), or None when it is free."""
    _, context = _latest(store, _type_id(store), pipeline_name)
    return None if is_free(context) else describe(context)


@dataclass
class Lease:
    """A held generation. renew() extends it; release() ends it (idempotent)."""
    store: object
    pipeline_name: str
    generation: int
    lease_seconds: float

    def _context(self):
        return self.store.get_context_by_type_and_name(
            C.LOCK_CONTEXT, _name(self.pipeline_name, self.generation))

    def still_held(self) -> bool:
        """False once a later generation exists: this lease expired and was taken over."""
        _, latest = _latest(self.store, _type_id(self.store), self.pipeline_name)
        return latest is not None and latest.name == _name(self.pipeline_name, self.generation)

    def renew(self) -> bool:
        context = self._context()
        if context is None or custom(context, _RELEASED) or not self.still_held():
            return False
        set_custom(context, _LEASE, _now() + self.lease_seconds)
        self.store.put_contexts([context])
        return True

    def release(self) -> None:
        context = self._context()
        if context is not None and not custom(context, _RELEASED):
            set_custom(context, _RELEASED, _now())
            self.store.put_contexts([context])


def _new_generation(type_id: int, pipeline_name: str, generation: int, holder_name: str,
                    lease_seconds: float) -> mlmd_pb2.Context:
    now = _now()
    context = mlmd_pb2.Context(type_id=type_id, name=_name(pipeline_name, generation))
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001  no user name in this environment (some containers)
        user = ""
    values = {**runs.this_process(), _HOLDER: holder_name, _USER: user,
              _SINCE: now, _LEASE: now + lease_seconds}
    for key, value in values.items():
        set_custom(context, key, value)
    return context


def acquire(store, pipeline_name: str, holder_name: str, wait_seconds: float = 0.0,
            lease_seconds: float = LEASE_SECONDS) -> Lease:
    """Takes the pipeline's lock in this store, waiting up to wait_seconds for its holder.

    Raises LockBusy (one line naming the holder) when it is still held after that."""
    type_id = _type_id(store)
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        generation, context = _latest(store, type_id, pipeline_name)
        if is_free(context):
            try:
                store.put_contexts([_new_generation(type_id, pipeline_name, generation + 1,
                                                    holder_name, lease_seconds)])
                return Lease(store, pipeline_name, generation + 1, lease_seconds)
            except mlmd_errors.AlreadyExistsError:
                continue  # another writer took generation + 1 first: look again
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait_seconds:g} s" if wait_seconds > 0 else ""
            raise LockBusy(f"pipeline '{pipeline_name}' is busy{waited}: "
                           f"{describe(context)} holds its lock in this MLMD store "
                           "(--wait SECONDS waits for it)")
        time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


class Renewer:
    """Renews a lease from a thread of its own until stopped, with a store of its own (an MLMD
    store object is not shared between threads). on_renew(store) runs after each renewal: the
    runner extends its run context's lease there (runs.renew_run_lease)."""

    def __init__(self, open_store, lease: Lease, on_renew=None):
        self._open_store = open_store
        self._lease = lease
        self._on_renew = on_renew
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="run-lock-lease", daemon=True)
        self.lost = False

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        store = None
        while not self._stop.wait(self._lease.lease_seconds / 4):
            try:
                store = store or self._open_store()
                lease = Lease(store, self._lease.pipeline_name, self._lease.generation,
                              self._lease.lease_seconds)
                if not lease.renew():
                    self.lost = True
                    logging.getLogger(__name__).error(
                        "the lock on pipeline %s was taken over (this process did not renew "
                        "it for %s s)", self._lease.pipeline_name, self._lease.lease_seconds)
                    return
                if self._on_renew is not None:
                    self._on_renew(store)
            except Exception:  # noqa: BLE001  a store hiccup: try again at the next beat
                logging.getLogger(__name__).warning("could not renew the run lock's lease",
                                                    exc_info=True)
                store = None


@contextlib.contextmanager
def held(store_cfg, pipeline_name: str, holder_name: str, wait_seconds: float = 0.0,
         on_renew=None, lease_seconds: float = LEASE_SECONDS):
    """The pipeline's lock in the store `store_cfg` names, renewed from a thread while the
    block runs and released when it ends, however it ends. Yields the Lease."""
    from tabflow.metadata.store import open_store
    store = open_store(store_cfg, readonly=False)
    lease = acquire(store, pipeline_name, holder_name, wait_seconds, lease_seconds)
    try:
        with Renewer(lambda: open_store(store_cfg, readonly=False), lease, on_renew):
            yield lease
    finally:
        try:
            lease.release()
        except Exception:  # noqa: BLE001  the lease runs out by itself
            logging.getLogger(__name__).warning("could not release the lock of %s",
                                                pipeline_name, exc_info=True)
