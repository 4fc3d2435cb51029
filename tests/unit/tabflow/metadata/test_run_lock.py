"""The run lock (tabflow/metadata/run_lock.py): one holder at a time per pipeline and store, named to
whoever is refused; free again when released, when its lease runs out, or at once when its
holder was a process of this machine that died. Real SQLite MLMD stores, real processes."""
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from tabflow.metadata import run_lock, runs
from tabflow.metadata.store import open_store
from tabflow import contract

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))


def _cfg(path):
    return SimpleNamespace(metadata_path=str(path), mysql_host="", mysql_port=3306,
                           mysql_database="", mysql_user="", mysql_password="")


@pytest.fixture
def cfg(tmp_path):
    cfg = _cfg(tmp_path / "metadata.sqlite")
    open_store(cfg, readonly=False)
    return cfg


def test_one_holder_at_a_time_and_the_refusal_names_it(cfg):
    store = open_store(cfg, readonly=False)
    lease = run_lock.acquire(store, "taxi", "run local-1")
    with pytest.raises(run_lock.LockBusy) as busy:
        run_lock.acquire(open_store(cfg, readonly=False), "taxi", "run local-2")
    message = str(busy.value)
    assert "\n" not in message
    assert "pipeline 'taxi' is busy" in message and "run local-1" in message
    assert f"pid {os.getpid()}" in message
    assert run_lock.holder(store, "taxi").startswith("run local-1")
    # Another pipeline in the same store has a lock of its own.
    run_lock.acquire(store, "other", "run other-1").release()
    lease.release()
    assert run_lock.holder(store, "taxi") is None
    run_lock.acquire(store, "taxi", "run local-2").release()


def test_a_waiter_gets_the_lock_when_the_holder_releases_it(cfg):
    import threading
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys; from types import SimpleNamespace\n"
            "from tabflow.metadata import run_lock\n"
            "from tabflow.metadata.store import open_store\n"
            f"cfg = SimpleNamespace(metadata_path={cfg.metadata_path!r}, mysql_host='')\n"
            "lease = run_lock.acquire(open_store(cfg, readonly=False), 'taxi', 'run slow')\n"
            "print('held', flush=True); sys.stdin.readline(); lease.release()")],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(run_lock.LockBusy):
        run_lock.acquire(open_store(cfg, readonly=False), "taxi", "run impatient")

    def release():
        holder.stdin.write("go\n")
        holder.stdin.flush()
    threading.Timer(1.0, release).start()
    lease = run_lock.acquire(open_store(cfg, readonly=False), "taxi", "run patient",
                             wait_seconds=60)
    assert holder.wait(timeout=60) == 0
    assert lease.still_held()


def test_a_killed_holder_on_this_machine_frees_the_lock_at_once(cfg):
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import time; from types import SimpleNamespace\n"
            "from tabflow.metadata import run_lock\n"
            "from tabflow.metadata.store import open_store\n"
            f"cfg = SimpleNamespace(metadata_path={cfg.metadata_path!r}, mysql_host='')\n"
            "run_lock.acquire(open_store(cfg, readonly=False), 'taxi', 'run doomed')\n"
            "print('held', flush=True); time.sleep(600)")],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    # Its lease (120 s) has not run out, but its process is provably gone.
    run_lock.acquire(open_store(cfg, readonly=False), "taxi", "run next").release()


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it(cfg):
    store = open_store(cfg, readonly=False)
    old = run_lock.acquire(store, "taxi", "run frozen", lease_seconds=0.2)
    # A live process of this machine with a lapsed lease: frozen, partitioned or clock-skewed.
    time.sleep(0.4)
    new = run_lock.acquire(store, "taxi", "run next")
    assert new.generation == old.generation + 1
    assert not old.still_held() and not old.renew()
    assert new.renew()


def test_a_holder_on_another_machine_is_not_judged_by_its_pid(cfg):
    """A dead pid recorded by another container (same host name, other pid namespace) is no
    proof: only the lease frees that lock."""
    store = open_store(cfg, readonly=False)
    lease = run_lock.acquire(store, "taxi", "run elsewhere")
    context = lease._context()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    context.custom_properties[contract.RUN_PID_PROPERTY].int_value = child.pid
    context.custom_properties[contract.RUN_PID_NAMESPACE_PROPERTY].string_value = "pid:[1]"
    store.put_contexts([context])
    with pytest.raises(run_lock.LockBusy):
        run_lock.acquire(store, "taxi", "run here")


def _race(path, barrier, results):
    store = open_store(_cfg(path), readonly=False)
    barrier.wait()
    try:
        run_lock.acquire(store, "taxi", f"run {os.getpid()}")
        results.put("won")
    except run_lock.LockBusy:
        results.put("busy")
    # The winner stays alive until every racer has tried: a dead holder frees the lock.
    barrier.wait()


def test_processes_racing_for_the_lock_get_exactly_one_winner(cfg):
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(6), ctx.Queue()
    racers = [ctx.Process(target=_race, args=(cfg.metadata_path, barrier, results))
              for _ in range(6)]
    for p in racers:
        p.start()
    outcomes = sorted(results.get(timeout=120) for _ in racers)
    for p in racers:
        p.join(timeout=60)
    assert outcomes == ["busy"] * 5 + ["won"]


def test_held_renews_the_lease_and_releases_however_the_block_ends(cfg):
    renewed = []
    with pytest.raises(KeyboardInterrupt):
        with run_lock.held(cfg, "taxi", "run interrupted", lease_seconds=0.4,
                           on_renew=lambda store: renewed.append(1)) as lease:
            time.sleep(1.0)  # longer than the lease: only renewals keep it
            assert lease.still_held()
            assert not run_lock.is_free(lease._context())
            raise KeyboardInterrupt
    assert renewed
    assert run_lock.holder(open_store(cfg, readonly=False), "taxi") is None


def test_the_generation_chain_is_found_in_few_reads(cfg):
    store = open_store(cfg, readonly=False)
    for i in range(37):
        run_lock.acquire(store, "taxi", f"run {i}").release()
    reads = []
    real = store.get_context_by_type_and_name
    store.get_context_by_type_and_name = lambda *a: reads.append(a) or real(*a)
    assert run_lock.acquire(store, "taxi", "run last").generation == 38
    assert len(reads) <= 20


def _gc(tmp_path, *extra):
    from tabflow.console import main as console
    return console.main(["gc", "--output-root", str(tmp_path), "--wait", "0", *extra])


def test_gc_takes_the_run_lock_and_names_the_run_holding_it(tmp_path, capsys):
    from tests.support.mlmd_records import sqlite_writer
    writer = sqlite_writer(tmp_path / "metadata.sqlite")
    writer.ir_run("local-2026-11-21T08:00:00.000000", {"Trainer": 3})
    lease = run_lock.acquire(writer.store, "taxi", "run local-2026-11-21T09:00:00.000000")
    capsys.readouterr()
    assert _gc(tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run local-2026-11-21T09:00:00.000000" in err, err
    lease.release()
    assert _gc(tmp_path) == 0, capsys.readouterr()


def test_gc_refuses_a_stale_run_unless_forced(tmp_path, capsys):
    from tests.support.mlmd_records import S, sqlite_writer
    writer = sqlite_writer(tmp_path / "metadata.sqlite")
    run_id = "local-2026-11-21T08:00:00.000000"
    writer.ir_run(run_id, {"CsvExampleGen": S.COMPLETE, "Trainer": S.RUNNING},
                  process={**runs.this_process(), contract.RUN_HOST_PROPERTY: "another-host"})
    runs.renew_run_lease(writer.store, run_id, lease_seconds=-1)
    capsys.readouterr()
    assert _gc(tmp_path) == 2
    err = capsys.readouterr().err
    assert f"run {run_id} (host another-host) is STALE" in err and "gc --force" in err
    assert _gc(tmp_path, "--force") == 0, capsys.readouterr()
