"""A throwaway PostgreSQL server (Debian's packages) for tests: own data dir, loopback, free
port, started and stopped by the test.

    with postgres.running(tmp_path) as url:   # postgresql+psycopg2://airflow@127.0.0.1:P/airflow

PostgreSQL refuses to run as root, so as root the data dir is handed to the `postgres` user the
package creates and every server command runs as that user (runuser). Nothing touches a system
service or /etc/postgresql.
"""
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator, List, Optional

from tests.support.receivers import free_port

START_TIMEOUT_SECONDS = 60


def bin_dir() -> Optional[str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(found[-1]) if found else None


def _as_server_user(command: List[str]) -> List[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


@contextlib.contextmanager
def running(base: Path, database: str = "airflow", user: str = "airflow") -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh database on a fresh server; stops it afterwards."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql; ./dev test "
                           "installs it)")
    base.mkdir(parents=True, exist_ok=True)
    # The server user must reach the folders: a private pytest tmp dir is not enough.
    root = Path(subprocess.check_output(["mktemp", "-d", "/tmp/pg.XXXXXX"], text=True).strip())
    os.chmod(root, 0o755)
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    _chown(root)
    _chown(sockets)
    subprocess.run(_as_server_user([f"{binaries}/initdb", "-D", str(data), "-A", "trust",
                                    "-U", "postgres", "--no-sync", "-E", "UTF8"]),
                   check=True, capture_output=True, text=True)
    port = free_port()
    log = base / "postgres.log"
    log_handle = open(log, "w")
    server = subprocess.Popen(_as_server_user([
        f"{binaries}/postgres", "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
        "-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off", "-c", "max_connections=200"]),
        stdout=log_handle, stderr=subprocess.STDOUT)
    try:
        psql = [f"{binaries}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q"]
        if shutil.which("psql"):
            psql[0] = shutil.which("psql")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            ready = subprocess.run([*psql, "-c", "SELECT 1"], capture_output=True)
            if ready.returncode == 0:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        subprocess.run([*psql, "-c", f"CREATE USER {user}",
                        "-c", f"CREATE DATABASE {database} OWNER {user}"], check=True,
                       capture_output=True)
        yield f"postgresql+psycopg2://{user}@127.0.0.1:{port}/{database}"
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # fast shutdown
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log_handle.close()
        shutil.rmtree(root, ignore_errors=True)
