"""Opening the MLMD store a configuration names: SQLite by default, MySQL/MariaDB when
`mysql_host` is set.

`store_cfg` is the configuration's store section, or any object with its attributes
(metadata_path and mysql_host for SQLite; the other mysql_* ones for MySQL). Readers open
SQLite read-only, so a mistyped path never creates an empty store. The MySQL password is read
here, when connecting: from mysql_password_file, else the environment (TABFLOW_MYSQL_PASSWORD).
"""
import os
import socket
import sqlite3
from typing import Mapping, Optional
from urllib.parse import quote

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tabflow.metadata.errors import StoreError
from tabflow import environment
from tabflow.redaction import MYSQL_PASSWORD, remember


def store_label(store_cfg) -> str:
    """How messages name the store: its SQLite path, or mysql://host:port/database."""
    if store_cfg.mysql_host:
        return f"mysql://{store_cfg.mysql_host}:{store_cfg.mysql_port}/{store_cfg.mysql_database}"
    return store_cfg.metadata_path


def mysql_password(store_cfg, environ: Optional[Mapping[str, str]] = None) -> str:
    """The password from mysql_password_file (its first line) or TABFLOW_MYSQL_PASSWORD; ""
    when neither is set. StoreError naming the setting when the file cannot be read, or when
    both are set (which one is meant?)."""
    environ = os.environ if environ is None else environ
    path = store_cfg.mysql_password_file
    variable = environment.set_as(MYSQL_PASSWORD, environ)
    if path and variable and environ[variable]:
        raise StoreError(f"the MySQL password is given twice, by config setting "
                         f"mysql_password_file and by {variable}: keep one")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                password = f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise StoreError(f"config setting mysql_password_file: cannot read {path}: "
                             f"{reason}") from None
    else:
        password = environment.get(MYSQL_PASSWORD, environ)
    remember(password)
    return password


_SSL_SETTINGS = {"key": "mysql_ssl_key", "cert": "mysql_ssl_cert", "ca": "mysql_ssl_ca",
                 "capath": "mysql_ssl_capath", "cipher": "mysql_ssl_cipher"}


def connection_config(store_cfg, create: bool) -> metadata_store_pb2.ConnectionConfig:
    """The ConnectionConfig for the store; SQLite is opened read-only unless `create`.

    Built here rather than with TFX's helpers so that readers and the configuration never
    import TFX; no folder is touched (a MySQL password file is read).
    """
    cc = metadata_store_pb2.ConnectionConfig()
    if store_cfg.mysql_host:
        cc.mysql.host = store_cfg.mysql_host
        cc.mysql.port = int(store_cfg.mysql_port)
        cc.mysql.database = store_cfg.mysql_database
        cc.mysql.user = store_cfg.mysql_user
        cc.mysql.password = mysql_password(store_cfg)
        # A reader must not create a database a mistyped name points at.
        cc.mysql.skip_db_creation = not create
        for option, setting in _SSL_SETTINGS.items():
            if getattr(store_cfg, setting):
                setattr(cc.mysql.ssl_options, option, getattr(store_cfg, setting))
        if store_cfg.mysql_ssl_verify_server_cert:
            cc.mysql.ssl_options.verify_server_cert = True
    else:
        cc.sqlite.filename_uri = store_cfg.metadata_path
        cc.sqlite.connection_mode = (
            metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE if create
            else metadata_store_pb2.SqliteMetadataSourceConfig.READONLY)
    return cc


# ml_metadata reports every connection problem as a RuntimeError whose text carries the
# database's own message; these turn the common ones into a sentence a user can act on.
_CAUSES = (
    ("file is not a database", "is not an SQLite database (corrupt, or another kind of file)"),
    ("readonly database", "is an SQLite database without ML Metadata's tables"),
    ("database is locked", "is locked by another process; retry when it has finished"),
    ("Concurrent writes aborted", "is locked by another process; retry when it has finished"),
    ("unable to open database file", "cannot be opened (check the path and its permissions)"),
)


def _explain(store_cfg, error: Exception) -> StoreError:
    label = store_label(store_cfg)
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if store_cfg.mysql_host:
        if "mysql_real_connect failed" in text:
            return StoreError(f"cannot connect to the MLMD store {label}: "
                              f"{_mysql_refusal(store_cfg)}")
        return StoreError(f"cannot read the MLMD store {label}: {text}")
    for needle, sentence in _CAUSES:
        if needle in text:
            return StoreError(f"the MLMD store {label} {sentence}")
    return StoreError(f"cannot read the MLMD store {label}: {text}")


def _mysql_refusal(store_cfg) -> str:
    """Why MLMD's MySQL client may have been refused: it reports no reason of its own."""
    if store_cfg.mysql_ssl_verify_server_cert:
        # Seen with ml-metadata 1.16 (its client is built on BoringSSL) against MariaDB 10.11:
        # verification fails for every certificate, one the mariadb client verifies included
        # (tests/e2e/test_mysql_tls.py pins it).
        return ("the server refused, or MLMD's MySQL client could not verify its certificate "
                "(setting mysql_ssl_verify_server_cert; ml-metadata 1.16's client verifies no "
                "certificate: see docs/store.md)")
    return ("the server refused the user, password or database, or requires TLS (settings "
            "mysql_user, mysql_database, mysql_password_file or TABFLOW_MYSQL_PASSWORD, "
            "mysql_ssl_*)")


# How long a command waits for another process's write lock on an SQLite store before it says
# so. A running pipeline holds the lock for a moment per write; ml_metadata's own retries
# would take about half a minute to give up.
LOCK_WAIT_SECONDS = 5.0


def _probe_sqlite(store_cfg) -> None:
    """Reads the SQLite file's schema with the standard library: a file that is not a
    database, or one another process keeps locked, is told apart in LOCK_WAIT_SECONDS."""
    uri = f"file:{quote(store_cfg.metadata_path)}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_SECONDS)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise _explain(store_cfg, e) from None


def probe_mysql(store_cfg) -> None:
    """A TCP connection to the MySQL server within mysql_connect_timeout: MLMD's own has no
    timeout setting and would wait for the system's (minutes) on an unreachable host."""
    address = (store_cfg.mysql_host, int(store_cfg.mysql_port))
    timeout = store_cfg.mysql_connect_timeout
    where = (f"cannot reach the MLMD store {store_label(store_cfg)} (settings "
             f"mysql_host={address[0]}, mysql_port={address[1]})")
    try:
        socket.create_connection(address, timeout=timeout).close()
    except socket.timeout:
        raise StoreError(f"{where}: no answer within {timeout:g} s "
                         f"(mysql_connect_timeout)") from None
    except OSError as e:
        raise StoreError(f"{where}: {e.strerror or e}") from None


def open_store(store_cfg, readonly: bool = True) -> metadata_store.MetadataStore:
    """A connected store; StoreError (one line naming the store) when it cannot be read.

    Read-only opening of a missing SQLite file says so instead of creating it.
    """
    if readonly and not store_cfg.mysql_host and not os.path.isfile(store_cfg.metadata_path):
        raise StoreError(f"no MLMD store at {store_cfg.metadata_path}: run the pipeline first")
    if not store_cfg.mysql_host and os.path.isfile(store_cfg.metadata_path):
        _probe_sqlite(store_cfg)
    if store_cfg.mysql_host:
        probe_mysql(store_cfg)
    try:
        store = metadata_store.MetadataStore(connection_config(store_cfg, create=not readonly))
        store.get_context_types()  # surfaces a corrupt or locked file now, not mid-command
    except RuntimeError as e:  # ml_metadata's errors derive from RuntimeError too
        raise _explain(store_cfg, e) from None
    return store

