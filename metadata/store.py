"""The MLMD connection for a config's store section, without TFX.

`store_cfg` is any object with metadata_path, mysql_host, mysql_port, mysql_database,
mysql_user and mysql_password (pipeline/config.py: StoreConfig).
"""
import os

from ml_metadata.proto import metadata_store_pb2

from metadata.errors import StoreError


def connection_config(store_cfg, create: bool) -> metadata_store_pb2.ConnectionConfig:
    """MySQL when mysql_host is set, else the SQLite file. `create`: a writer (a runner), which
    may create the SQLite file or the MySQL database; a reader opens what exists, read-only.
    No I/O: the runner creates the SQLite file's folder."""
    cc = metadata_store_pb2.ConnectionConfig()
    if store_cfg.mysql_host:
        cc.mysql.host = store_cfg.mysql_host
        cc.mysql.port = store_cfg.mysql_port
        cc.mysql.database = store_cfg.mysql_database
        cc.mysql.user = store_cfg.mysql_user
        cc.mysql.password = store_cfg.mysql_password
        cc.mysql.skip_db_creation = not create
    else:
        cc.sqlite.filename_uri = store_cfg.metadata_path
        cc.sqlite.connection_mode = (
            metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE if create
            else metadata_store_pb2.SqliteMetadataSourceConfig.READONLY)
    return cc


def store_label(store_cfg) -> str:
    """Where the store is, for messages: the SQLite path or mysql://host:port/database."""
    if store_cfg.mysql_host:
        return (f"mysql://{store_cfg.mysql_host}:{store_cfg.mysql_port}/"
                f"{store_cfg.mysql_database}")
    return store_cfg.metadata_path


def open_store(store_cfg, readonly: bool = True):
    """A MetadataStore on an existing store; StoreError names the store when it cannot open."""
    from ml_metadata import errors, metadata_store
    label = store_label(store_cfg)
    if not store_cfg.mysql_host and not os.path.exists(store_cfg.metadata_path):
        raise StoreError(f"no MLMD store at {label}: run the pipeline first")
    try:
        return metadata_store.MetadataStore(connection_config(store_cfg, create=not readonly))
    # MLMD raises its StatusErrors, or a bare RuntimeError for a file that is no database.
    except (errors.StatusError, RuntimeError) as e:
        raise StoreError(f"cannot open the MLMD store {label}: {e}") from None
