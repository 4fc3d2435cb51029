"""tabflow.environment: TABFLOW_<NAME> first, the taxi-era TAXI_<NAME> still read; and the
secrets under either name are read where they are used and masked everywhere."""
from types import SimpleNamespace

import pytest

from tabflow import environment
from tabflow.alerts import channels
from tabflow.metadata.errors import StoreError
from tabflow.metadata.store import mysql_password
from tabflow.monitoring import openlineage
from tabflow.redaction import known_secrets


@pytest.mark.parametrize("environ,want,variable", [
    ({"TABFLOW_X": "new", "TAXI_X": "old"}, "new", "TABFLOW_X"),
    ({"TAXI_X": "old"}, "old", "TAXI_X"),
    ({"TABFLOW_X": ""}, "", "TABFLOW_X"),
    ({}, "", None),
])
def test_tabflow_first_then_the_taxi_era_name(environ, want, variable):
    assert environment.get("X", environ) == want
    assert environment.set_as("X", environ) == variable


def test_suffixes():
    assert environment.suffix_of("TABFLOW_TRAIN_STEPS") == "TRAIN_STEPS"
    assert environment.suffix_of("TAXI_TRAIN_STEPS") == "TRAIN_STEPS"
    assert environment.suffix_of("TABFLOW_") is None
    assert environment.suffix_of("HOME") is None
    assert environment.names("A") == ("TABFLOW_A", "TAXI_A")


@pytest.mark.parametrize("prefix", ["TABFLOW_", "TAXI_"])
def test_secrets_under_either_name_are_read_and_masked(prefix):
    environ = {f"{prefix}MYSQL_PASSWORD": "pw-1234", f"{prefix}ALERT_WEBHOOK_URL": "http://h/k",
               f"{prefix}OPENLINEAGE_API_KEY": "key-5678",
               f"{prefix}ALERT_SMTP_PASSWORD": "smtp-999"}
    assert mysql_password(SimpleNamespace(mysql_password_file=""), environ) == "pw-1234"
    assert channels.channels(SimpleNamespace(smtp_host="", alert_email_to=[]), environ) == [
        "webhook"]
    assert {"pw-1234", "http://h/k", "key-5678", "smtp-999"} <= known_secrets(environ)
    assert openlineage.API_KEY_VARIABLE == "TABFLOW_OPENLINEAGE_API_KEY"


def test_a_password_in_a_file_and_a_variable_names_the_variable_set(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("a-password\n")
    with pytest.raises(StoreError, match="by TAXI_MYSQL_PASSWORD: keep one"):
        mysql_password(SimpleNamespace(mysql_password_file=str(secret)),
                       {"TAXI_MYSQL_PASSWORD": "other"})
