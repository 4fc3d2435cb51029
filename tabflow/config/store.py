"""The MLMD store."""
from __future__ import annotations

import dataclasses
from .paths import require


@dataclasses.dataclass
class StoreConfig:
    """The MLMD store: SQLite file (default <output_root>/metadata.sqlite) unless mysql_host is
    set. The metadata layer (tabflow/metadata/store.py) turns it into a connection. The MySQL
    password is no setting (settings are printed and recorded): it is read when connecting,
    from mysql_password_file or else the environment variable TABFLOW_MYSQL_PASSWORD."""
    metadata_path: str = ""
    mysql_host: str = ""
    mysql_port: int = 3306
    mysql_database: str = "mlmd"
    mysql_user: str = "root"
    mysql_password_file: str = ""
    # TLS to the server (MLMD's MySQLDatabaseConfig.ssl_options); any of them turns TLS on.
    mysql_ssl_ca: str = ""
    mysql_ssl_capath: str = ""
    mysql_ssl_cert: str = ""
    mysql_ssl_key: str = ""
    mysql_ssl_cipher: str = ""
    mysql_ssl_verify_server_cert: bool = False
    # Seconds to wait for the server to accept a TCP connection before giving up.
    mysql_connect_timeout: float = 10.0

    def validate(self) -> None:
        require(1 <= self.mysql_port <= 65535,
                 f"mysql_port must be in 1..65535, got {self.mysql_port}")
        require(self.mysql_connect_timeout > 0,
                 f"mysql_connect_timeout must be > 0, got {self.mysql_connect_timeout}")
        require(bool(self.mysql_ssl_cert) == bool(self.mysql_ssl_key),
                 "mysql_ssl_cert and mysql_ssl_key go together (a client certificate and "
                 "its key): set both or neither")
