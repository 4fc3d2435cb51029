"""tabflow/redaction.py and where it is used: masked URLs and settings, the log file's filter
and mode, and the MySQL password read from a file or the environment when connecting."""
import logging
import os
import socket
import stat

import pytest

from tabflow.metadata.errors import StoreError
from tabflow.metadata.store import connection_config, mysql_password, open_store
from tabflow import redaction as R
from tabflow.config import PipelineConfig, StoreConfig
from runners.progress import logs_to_file

PASSWORD = "Pw-for-redaction-7c1e"


@pytest.mark.parametrize("url,shown", [
    ("https://user:s3cr3t@push.example.com:9091/x", "https://user:***@push.example.com:9091/x"),
    ("https://tok3n@hooks.example.com/a", "https://***@hooks.example.com/a"),
    ("http://h/api?api_key=abc&limit=5&access_token=def&key=ghi",
     "http://h/api?api_key=***&limit=5&access_token=***&key=***"),
    ("user:pw@push:9091", "user:***@push:9091"),
    ("http://push.example.com:9091", "http://push.example.com:9091"),
    ("/a/path/without?query", "/a/path/without?query"),
])
def test_mask_url(url, shown):
    assert R.mask_url(url) == shown


def test_settings_are_shown_with_their_credentials_masked():
    config = PipelineConfig.from_flat(
        pushgateway_url="https://metrics:pgpass99@push.example.com",
        openlineage_url="https://ol.example.com/?token=oltoken99",
        beam_args=["--extra=https://u:beampass99@pkg.example.com/simple"],
        mysql_password_file="/run/secrets/mysql")
    text = config.to_json()
    for secret in ("pgpass99", "oltoken99", "beampass99"):
        assert secret not in text
    shown = config.as_dict()
    assert shown["metrics"]["pushgateway_url"] == "https://metrics:***@push.example.com"
    assert shown["store"]["mysql_password_file"] == "/run/secrets/mysql"  # a path, not secret
    assert config.metrics.pushgateway_url.endswith("pgpass99@push.example.com")  # unchanged


def test_secret_named_settings_and_environment_values_are_masked(monkeypatch):
    monkeypatch.setenv(R.MYSQL_PASSWORD_VARIABLE, PASSWORD)
    shown = R.redact_settings({"db_password": "x", "mysql_password_file": "/f",
                               "note": f"uses {PASSWORD}", "n": 3})
    assert shown == {"db_password": "***", "mysql_password_file": "/f", "note": "uses ***",
                     "n": 3}


def test_the_mysql_password_is_no_setting_and_its_variable_no_unknown_setting():
    from tabflow.config import FIELDS, unknown_env_variables
    assert not [name for name in FIELDS if R.is_secret_setting(name)]
    assert unknown_env_variables({R.MYSQL_PASSWORD_VARIABLE: "x"}) == []


def mysql_store(tmp_path, **changes):
    fields = dict(mysql_host="127.0.0.1", mysql_port=3306, mysql_database="mlmd",
                  mysql_user="mlmd")
    fields.update(changes)
    return StoreConfig(**fields)


def test_the_password_comes_from_the_file_or_the_environment(tmp_path):
    path = tmp_path / "pw"
    path.write_text(PASSWORD + "\n")
    assert mysql_password(mysql_store(tmp_path, mysql_password_file=str(path)), {}) == PASSWORD
    env = {R.MYSQL_PASSWORD_VARIABLE: PASSWORD}
    assert mysql_password(mysql_store(tmp_path), env) == PASSWORD
    assert mysql_password(mysql_store(tmp_path), {}) == ""
    with pytest.raises(StoreError, match="given twice"):
        mysql_password(mysql_store(tmp_path, mysql_password_file=str(path)), env)
    with pytest.raises(StoreError, match=r"mysql_password_file: cannot read .*missing"):
        mysql_password(mysql_store(tmp_path, mysql_password_file=str(tmp_path / "missing")), {})


def test_tfx_connection_config_line_is_redacted_in_the_log_file(tmp_path):
    """The line TFX's LocalDagRunner logs, with a real ConnectionConfig, and a traceback that
    carries the password: neither reaches the file; the file is the owner's only."""
    path = tmp_path / "pw"
    path.write_text(PASSWORD)
    cc = connection_config(mysql_store(tmp_path, mysql_password_file=str(path)), create=True)
    assert PASSWORD in str(cc)  # what TFX would log
    log_file = tmp_path / "logs" / "pipeline.log"
    log_file.parent.mkdir()
    log_file.write_text("an older run\n")
    os.chmod(log_file, 0o644)
    with logs_to_file(str(log_file)):
        from absl import logging as absl_logging
        absl_logging.info("Using connection config:\n %s", cc)
        try:
            raise RuntimeError(f"cannot connect with {PASSWORD}")
        except RuntimeError:
            logging.getLogger("some.component").exception("failed")
    text = log_file.read_text()
    assert PASSWORD not in text
    assert 'password: "***"' in text and 'host: "127.0.0.1"' in text
    assert "RuntimeError: cannot connect with ***" in text
    assert stat.S_IMODE(os.stat(log_file).st_mode) == 0o600


def test_a_new_log_file_is_created_0600(tmp_path):
    log_file = tmp_path / "new" / "pipeline.log"
    with logs_to_file(str(log_file)):
        logging.getLogger("x").info("hello")
    assert stat.S_IMODE(os.stat(log_file).st_mode) == 0o600


def test_mysql_tls_settings_reach_mlmd_ssl_options(tmp_path):
    store = PipelineConfig.from_flat(
        mysql_host="db", mysql_ssl_ca="ca.pem", mysql_ssl_cert="/c/cert.pem",
        mysql_ssl_key="/c/key.pem", mysql_ssl_capath="/etc/ssl/certs",
        mysql_ssl_cipher="ECDHE-RSA-AES256-GCM-SHA384",
        mysql_ssl_verify_server_cert=True).store
    ssl = connection_config(store, create=False).mysql.ssl_options
    assert ssl.ca == os.path.abspath("ca.pem")  # relative to where the command was given
    assert (ssl.cert, ssl.key, ssl.capath) == ("/c/cert.pem", "/c/key.pem", "/etc/ssl/certs")
    assert ssl.cipher == "ECDHE-RSA-AES256-GCM-SHA384" and ssl.verify_server_cert is True
    assert not connection_config(mysql_store(tmp_path), create=False).mysql.HasField(
        "ssl_options")
    with pytest.raises(ValueError, match="mysql_ssl_cert and mysql_ssl_key go together"):
        PipelineConfig.from_flat(mysql_host="db", mysql_ssl_cert="/c/cert.pem")


def test_an_unreachable_mysql_server_is_one_line_within_the_connect_timeout(tmp_path):
    # A listener that never accepts, with its backlog full: the next connection hangs.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    held = socket.create_connection(("127.0.0.1", port))
    try:
        with pytest.raises(StoreError) as e:
            open_store(mysql_store(tmp_path, mysql_port=port, mysql_connect_timeout=0.5))
    finally:
        held.close()
        server.close()
    message = str(e.value)
    assert "\n" not in message and "within 0.5 s (mysql_connect_timeout)" in message
    assert f"mysql_host=127.0.0.1, mysql_port={port}" in message
    with pytest.raises(StoreError, match=f"mysql_port={port}\\): Connection refused"):
        open_store(mysql_store(tmp_path, mysql_port=port))


def test_provenance_recorded_before_masking_is_masked_when_read(tmp_path):
    """A RunProvenance artifact whose config_json holds a URL password (as runs recorded it
    before settings were masked) is shown masked by every reader (review page, lineage)."""
    import json
    from ml_metadata.proto import metadata_store_pb2 as pb
    from tabflow.metadata.provenance import run_provenance
    from tabflow import contract
    store = open_store(StoreConfig(metadata_path=str(tmp_path / "m.sqlite")), readonly=False)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name=contract.PROVENANCE_TYPE))
    context_type = store.put_context_type(pb.ContextType(name="pipeline_run"))
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="run-1")])
    artifact = pb.Artifact(type_id=artifact_type, uri=str(tmp_path / "p"))
    recorded = {"metrics": {"pushgateway_url": "https://ops:oldpass99@push.example.com"},
                "store": {"mysql_password": "oldmysql99"}}
    artifact.custom_properties["config_json"].string_value = json.dumps(recorded)
    [artifact_id] = store.put_artifacts([artifact])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=artifact_id, context_id=context_id)], [])
    config = run_provenance(store, context_id)["config"]
    assert config == {"metrics": {"pushgateway_url": "https://ops:***@push.example.com"},
                      "store": {"mysql_password": "***"}}


def test_a_failed_pushgateway_push_names_its_url_masked(caplog):
    from prometheus_client import CollectorRegistry
    from tabflow.monitoring.metrics import publish
    from tests.support.receivers import free_port
    url = f"http://ops:pgsecret99@127.0.0.1:{free_port()}"  # nothing listens there
    results = publish(CollectorRegistry(), "", url, "job", "taxi", timeout=2)
    assert results["pushgateway"]  # the push failed
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ops:***@127.0.0.1" in logged
    assert "pgsecret99" not in logged + results["pushgateway"]


def test_a_run_failure_quoting_a_secret_is_reported_masked(monkeypatch):
    from runners.local_runner import PipelineFailed
    monkeypatch.setenv(R.MYSQL_PASSWORD_VARIABLE, PASSWORD)
    failure = PipelineFailed("local-1", "Trainer", RuntimeError(f"login {PASSWORD} refused"))
    assert PASSWORD not in str(failure) and "login *** refused" in str(failure)
