"""What the Dagster and Prefect runs share (runners/orchestrated.py), without an orchestrator:
a run's settings, the retry delays, the schedule as cron, and TFX's log records forwarded to
an orchestrator's per-step logger."""
import logging

import pytest

from runners import orchestrated
from tabflow.config import PipelineConfig
from tabflow.config.cron import as_cron


@pytest.fixture
def clean_env(monkeypatch):
    import os
    for key in list(os.environ):
        if key.startswith(("TABFLOW_", "TAXI_")):
            monkeypatch.delenv(key)


def test_a_runs_settings_move_every_derived_path(clean_env, tmp_path):
    config = orchestrated.run_config({"output_root": str(tmp_path), "train_steps": 7,
                                      "enable_cache": False}, "here")
    assert config.store.metadata_path == str(tmp_path / "metadata.sqlite")
    assert config.log_file == str(tmp_path / "logs" / "pipeline.log")
    assert config.pipeline_root.startswith(str(tmp_path))
    assert config.training.train_steps == 7 and config.enable_cache is False


def test_a_runs_settings_read_the_environment_first(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TABFLOW_OUTPUT_ROOT", str(tmp_path))
    config = orchestrated.run_config({"threshold": "0.9"}, "here")
    assert config.output_root == str(tmp_path) and config.gates.threshold == 0.9


@pytest.mark.parametrize("settings, message", [
    ({"treshold": "0.9"}, "Dagster run config settings: unknown setting 'treshold'"),
    ({"train_steps": "many"}, "Dagster run config settings.train_steps: cannot read 'many'"),
])
def test_a_bad_setting_is_one_line_naming_where_it_came_from(clean_env, settings, message):
    with pytest.raises(ValueError) as error:
        orchestrated.run_config(settings, "Dagster run config settings")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


@pytest.mark.parametrize("schedule, cron", [
    ("@daily", "0 0 * * *"), ("@hourly", "0 * * * *"), ("*/5 * * * *", "*/5 * * * *"),
    ("@once", None), ("@continuous", None), ("", None)])
def test_schedules_as_cron(schedule, cron):
    assert as_cron(schedule) == cron


def _retry(**values):
    return PipelineConfig.from_flat(**values).airflow


def test_retry_delays_double_up_to_the_cap():
    assert orchestrated.retry_delays(_retry(airflow_retries=4, airflow_retry_delay_seconds=300,
                                            airflow_max_retry_delay_seconds=1000)) == \
        [300, 600, 1000, 1000]
    assert orchestrated.retry_delays(_retry(airflow_retries=3, airflow_retry_delay_seconds=5,
                                            airflow_exponential_backoff=False)) == [5, 5, 5]
    assert orchestrated.retry_delays(_retry(airflow_retries=0)) == [0]


class _Collector(logging.Logger):
    def __init__(self):
        super().__init__("collector")
        self.lines = []

    def log(self, level, msg, *args, **kwargs):
        self.lines.append((level, msg % args))


def test_forwarded_logs_are_redacted_and_leave_beams_info_out(monkeypatch):
    from tabflow.redaction import MYSQL_PASSWORD_VARIABLE
    monkeypatch.setenv(MYSQL_PASSWORD_VARIABLE, "s3cret-pass")
    target = _Collector()
    # A run sets these to INFO (runners/progress.py: logs_to_file); earlier tests in this
    # process may have left them at WARNING.
    loggers = {name: logging.getLogger(name) for name in
               ("", "tabflow_test_node", "apache_beam.runners", "dagster")}
    levels = {name: logger.level for name, logger in loggers.items()}
    for logger in loggers.values():
        logger.setLevel(logging.INFO)
    try:
        with orchestrated.forwarded_logs(target):
            loggers["tabflow_test_node"].info("connecting with s3cret-pass")
            loggers["apache_beam.runners"].info("a stage")
            loggers["apache_beam.runners"].warning("a slow stage")
            loggers["dagster"].info("the orchestrator's own")
        loggers["tabflow_test_node"].info("after the node")
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])
    assert [line for _, line in target.lines] == [
        "tabflow_test_node: connecting with ***", "apache_beam.runners: a slow stage"]
