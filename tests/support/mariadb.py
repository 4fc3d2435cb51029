"""A throwaway MariaDB server for tests and benchmarks: own data dir, loopback, free port.

    with mariadb.running(tmp_path) as server:
        PipelineConfig.from_flat(..., **server.config_fields())

The server is made by `mariadb-install-db` in a fresh folder and run by `mariadbd` in the
foreground of a child process; a database and a password user are created through the
server's socket with the `mariadb` client. Nothing touches a system service or /etc/mysql.
The user's password is in a file only its owner reads, which the settings name
(mysql_password_file): the password itself is never a setting or a flag.
"""
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

BINARIES = ("mariadb-install-db", "mariadbd", "mariadb")
# Debian installs mariadbd in /usr/sbin, which is not on a non-root user's PATH.
_EXTRA_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")
START_TIMEOUT_SECONDS = 60
# A UNIX socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


class MariaDBUnavailable(RuntimeError):
    pass


def find_binary(name: str) -> Optional[str]:
    found = shutil.which(name)
    if found:
        return found
    for folder in _EXTRA_DIRS:
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    return None


def missing_binaries() -> List[str]:
    return [name for name in BINARIES if find_binary(name) is None]


@dataclass
class Server:
    host: str
    port: int
    database: str
    user: str
    password: str
    password_file: str
    socket_path: str
    datadir: str

    def config_fields(self) -> Dict[str, object]:
        """The PipelineConfig mysql_* settings that reach this server."""
        return {"mysql_host": self.host, "mysql_port": self.port,
                "mysql_database": self.database, "mysql_user": self.user,
                "mysql_password_file": self.password_file}

    def cli_flags(self) -> List[str]:
        """The same settings as tabflow command-line flags."""
        return [f"--{name.replace('_', '-')}={value}"
                for name, value in self.config_fields().items()]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts_tcp(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _run_as_flags() -> List[str]:
    """mariadbd refuses to run as root unless told to: say which user we already are."""
    return [f"--user={pwd.getpwuid(os.geteuid()).pw_name}"]


def _tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tls_flags(tls: Optional[Dict[str, str]]) -> List[str]:
    if not tls:
        return []
    return [f"--ssl-ca={tls['ca']}", f"--ssl-cert={tls['cert']}", f"--ssl-key={tls['key']}",
            "--require-secure-transport=ON"]


def _start(base: Path, socket_path: str, port: int, extra: List[str]) -> subprocess.Popen:
    log = base / "error.log"
    command = [
        find_binary("mariadbd"), "--no-defaults", *_run_as_flags(),
        f"--datadir={base / 'data'}", f"--port={port}", "--bind-address=127.0.0.1",
        f"--socket={socket_path}", f"--pid-file={base / 'mariadbd.pid'}",
        f"--log-error={log}", "--skip-name-resolve",
        # A throwaway store: small memory, and no fsync per commit (MLMD commits per call).
        "--innodb-buffer-pool-size=64M",
        "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", *extra,
    ]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MariaDBUnavailable(f"mariadbd exited with status {process.returncode} on "
                                     f"port {port}:\n{_tail(log)}")
        if _accepts_tcp(port) and os.path.exists(socket_path):
            return process
        time.sleep(0.2)
    _stop(process)
    raise MariaDBUnavailable(f"mariadbd did not accept connections on 127.0.0.1:{port} within "
                             f"{START_TIMEOUT_SECONDS} s:\n{_tail(log)}")


def _create_database(socket_path: str, database: str, user: str, password: str) -> None:
    sql = (f"CREATE DATABASE `{database}`; "
           f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; "
           f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%';")
    proc = subprocess.run([find_binary("mariadb"), "--no-defaults", f"--socket={socket_path}",
                           "--user=root", "-e", sql], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise MariaDBUnavailable(f"setting up database {database!r} failed: {proc.stderr}")


@contextlib.contextmanager
def running(base_dir, database: str = "mlmd", user: str = "mlmd",
            password: Optional[str] = None,
            tls: Optional[Dict[str, str]] = None) -> Iterator[Server]:
    """A fresh MariaDB server under base_dir (an empty folder), stopped on exit. `password`:
    the user's (default: a random one); it must not contain a quote. `tls`: {"ca", "cert",
    "key"} PEM paths; the server then refuses TCP clients that do not use TLS (its own Unix
    socket stays open to the set-up)."""
    missing = missing_binaries()
    if missing:
        raise MariaDBUnavailable(f"MariaDB binaries not found: {', '.join(missing)} "
                                 "(install the mariadb-server package)")
    base = Path(base_dir)
    base.mkdir(parents=True, exist_ok=True)
    install = subprocess.run(
        [find_binary("mariadb-install-db"), "--no-defaults", *_run_as_flags(),
         f"--datadir={base / 'data'}", "--auth-root-authentication-method=normal",
         "--skip-test-db"], capture_output=True, text=True, timeout=300)
    if install.returncode != 0:
        raise MariaDBUnavailable(f"mariadb-install-db failed:\n{install.stdout}{install.stderr}")
    socket_dir = None
    socket_path = str(base / "mariadbd.sock")
    if len(socket_path) > _MAX_SOCKET_PATH:
        socket_dir = tempfile.mkdtemp(prefix="mariadb-")
        socket_path = os.path.join(socket_dir, "mariadbd.sock")
    process = None
    try:
        # The free port may be taken between choosing and binding it: try a few.
        for attempt in range(3):
            try:
                port = _free_port()
                process = _start(base, socket_path, port, _tls_flags(tls))
                break
            except MariaDBUnavailable:
                if attempt == 2:
                    raise
        password = password or secrets.token_hex(12)
        _create_database(socket_path, database, user, password)
        password_file = base / "mysql-password"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        yield Server("127.0.0.1", port, database, user, password, str(password_file),
                     socket_path, str(base / "data"))
    finally:
        if process is not None:
            _stop(process)
        if socket_dir is not None:
            shutil.rmtree(socket_dir, ignore_errors=True)
