"""The pipeline's typed configuration, in sections: defaults for a local run, overridable from
the environment and the command line.

`PipelineConfig` holds what every part of the project reads (pipeline name, output root, cache,
serving folder, log file) and one section per concern: `data`, `training`, `gates`, `beam`,
`airflow`, `kubeflow` and `store`. Setting names are unique across sections, so the user-facing
names stay flat: environment variable `TAXI_<NAME>`, flag `--<name>` (console/settings.py), and
keyword `from_sources(train_steps=9)`; code reads `config.training.train_steps`.

Precedence, lowest first: field defaults, `TAXI_<NAME>` environment variables, command-line
flags, keyword overrides. Building a config reads no file and creates nothing: the runner that
needs a folder (the SQLite store's, the log's) creates it.
"""
from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from pipeline.redaction import SECRET_VARIABLES, redact_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "TAXI_"
# TAXI_ variables that are not settings: ./dev's choice of virtualenv, and the secrets
# (pipeline/redaction.py), which are read from the environment (or a file) only.
NON_SETTING_VARIABLES = ("TAXI_VENV", "TAXI_TEST_FAIL_ONCE", "TAXI_TEST_CRASH_AT",
                         "TAXI_GIT_COMMIT") + SECRET_VARIABLES


def _absolute(path: str) -> str:
    """Local paths become absolute; URIs such as gs://bucket/dir are kept as they are."""
    if "://" in path:
        return path.rstrip("/")
    return str(Path(path).expanduser().resolve())


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"config setting {message}")


@dataclasses.dataclass
class DataConfig:
    """What the pipeline reads: the spans and the curated schema."""
    # data_root holds one folder per span (span-1, span-2, ...), each with CSV files.
    data_root: str = str(PROJECT_ROOT / "data" / "spans")
    # 0: the latest span in data_root; N: exactly span N.
    span: int = 0
    schema_path: str = str(PROJECT_ROOT / "schema" / "schema.pbtxt")

    def validate(self) -> None:
        _require(self.span >= 0, f"span must be 0 (latest) or a span number, got {self.span}")


@dataclasses.dataclass
class TrainingConfig:
    """Tuner and Trainer budgets, and how often the Tuner searches."""
    train_steps: int = 1000
    eval_steps: int = 150
    batch_size: int = 40
    tuner_trials: int = 2
    tuner_train_steps: int = 300
    tuner_eval_steps: int = 50
    # Search again when the span is this many spans past the last search's (0: only when the
    # tuner or model code, the curated schema or the settings above change). pipeline/tuning.py
    retune_every_spans: int = 7

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            low = 0 if f.name == "retune_every_spans" else 1
            _require(value >= low, f"{f.name} must be >= {low}, got {value}")


@dataclasses.dataclass
class GatesConfig:
    """Evaluator gates: the candidate must reach min_auc and lose at most max_auc_regression
    against the last blessed model overall, and at most max_slice_auc_regression within
    payment_type == "Credit Card" (the slice where tips are recorded, so where the model has
    to do more than recognise the payment type).

    Data gate (the AnomalyGate, pipeline/span_values.py): a span stops when its label's rarer
    class holds less than min_label_share of its examples, or when more than max_outlier_share
    of a feature's values lie outside the typical range the curated schema gives it."""
    min_auc: float = 0.7
    max_auc_regression: float = 0.01
    max_slice_auc_regression: float = 0.02
    # The committed spans' big-tipper share is 16-28%.
    min_label_share: float = 0.05
    # The committed spans have at most 0.6% outside a typical range (schema/README.md).
    max_outlier_share: float = 0.01

    def validate(self) -> None:
        _require(0.0 <= self.min_auc <= 1.0, f"min_auc must be in [0, 1], got {self.min_auc}")
        _require(0.0 <= self.min_label_share <= 0.5,
                 f"min_label_share must be in [0, 0.5], got {self.min_label_share}")
        for name in ("max_auc_regression", "max_slice_auc_regression", "max_outlier_share"):
            value = getattr(self, name)
            _require(0.0 <= value <= 1.0, f"{name} must be in [0, 1], got {value}")


@dataclasses.dataclass
class BeamConfig:
    """Beam for the Beam-based components (ExampleGen, StatisticsGen, Transform, Evaluator): a
    preset (pipeline/beam_presets.py) plus any extra `beam_args`, which win; Dataflow and
    portable-runner settings for the presets that use them."""
    beam_preset: str = "direct"
    beam_args: List[str] = dataclasses.field(default_factory=list)
    gcp_project: str = ""
    gcp_region: str = "us-central1"
    beam_temp_location: str = ""
    beam_staging_location: str = ""
    dataflow_machine_type: str = "n1-standard-4"
    dataflow_max_workers: int = 4
    sdk_container_image: str = ""
    portable_job_endpoint: str = "localhost:8099"
    portable_environment_type: str = "EXTERNAL"
    portable_environment_config: str = "localhost:50000"

    def validate(self) -> None:
        from pipeline.beam_presets import PRESETS
        _require(self.beam_preset in PRESETS,
                 f"beam_preset must be one of {sorted(PRESETS)}, got {self.beam_preset!r}")
        _require(self.dataflow_max_workers >= 1,
                 f"dataflow_max_workers must be >= 1, got {self.dataflow_max_workers}")
        _require(self.portable_environment_type in PORTABLE_ENVIRONMENT_TYPES,
                 f"portable_environment_type must be one of {PORTABLE_ENVIRONMENT_TYPES}, "
                 f"got {self.portable_environment_type!r}")


# Beam's portable runner environments (--environment_type).
PORTABLE_ENVIRONMENT_TYPES = ("DOCKER", "PROCESS", "EXTERNAL", "LOOPBACK")
# Airflow's schedule presets; anything else must be a five-field cron expression.
AIRFLOW_SCHEDULE_PRESETS = ("@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly",
                            "@quarterly", "@yearly", "@annually")


@dataclasses.dataclass
class AirflowConfig:
    """The Airflow DAG (runners/airflow_dag.py): an empty schedule means "only when triggered".
    With airflow_trigger = new_span the DAG runs when a new span lands instead of on the
    schedule: a watcher DAG looks every airflow_span_poll_seconds (docs/airflow.md)."""
    airflow_schedule: str = "@daily"
    airflow_trigger: str = "schedule"
    airflow_span_poll_seconds: int = 300
    airflow_start_date: str = "2026-01-01"
    airflow_retries: int = 2
    airflow_retry_delay_seconds: int = 300
    airflow_max_retry_delay_seconds: int = 3600
    airflow_exponential_backoff: bool = True

    def validate(self) -> None:
        try:
            # The DAG reads it the same way (runners/airflow_dag.py).
            datetime.datetime.fromisoformat(self.airflow_start_date)
        except (TypeError, ValueError):
            _require(False, f"airflow_start_date must be an ISO date such as 2026-01-01, "
                            f"got {self.airflow_start_date!r}")
        schedule = self.airflow_schedule
        _require(not schedule or schedule in AIRFLOW_SCHEDULE_PRESETS
                 or (not schedule.startswith("@") and len(schedule.split()) == 5),
                 f"airflow_schedule must be empty, one of {AIRFLOW_SCHEDULE_PRESETS} or a "
                 f"five-field cron expression, got {schedule!r}")
        _require(self.airflow_trigger in ("schedule", "new_span"),
                 f"airflow_trigger must be schedule or new_span, got {self.airflow_trigger!r}")
        _require(self.airflow_span_poll_seconds >= 1, f"airflow_span_poll_seconds must be "
                                                      f">= 1, got {self.airflow_span_poll_seconds}")
        for name in ("airflow_retries", "airflow_retry_delay_seconds",
                     "airflow_max_retry_delay_seconds"):
            value = getattr(self, name)
            _require(value >= 0, f"{name} must be >= 0, got {value}")


@dataclasses.dataclass
class KubeflowConfig:
    """Kubeflow v2 / Vertex (runners/kubeflow_v2.py): the image runs every component.
    kfp_output_dir defaults to <output_root>/kubeflow."""
    kfp_image: str = "taxi-tfx-pipeline:latest"
    kfp_target: str = "vertex"
    kfp_endpoint: str = ""
    kfp_output_dir: str = ""
    # Recurring runs (runners/kubeflow_schedule.py): a five-field cron or @hourly, @daily,
    # @weekly, @monthly, @yearly; empty: `kubeflow compile` writes no schedule.
    kfp_schedule: str = ""
    kfp_schedule_timezone: str = "UTC"

    def validate(self) -> None:
        _require(self.kfp_target in ("vertex", "kfp"),
                 f"kfp_target must be 'vertex' or 'kfp', got {self.kfp_target!r}")
        presets = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually")
        schedule = self.kfp_schedule
        _require(not schedule or schedule in presets
                 or (not schedule.startswith("@") and len(schedule.split()) == 5),
                 f"kfp_schedule must be empty, one of {presets} or a five-field cron "
                 f"expression, got {schedule!r}")


@dataclasses.dataclass
class StoreConfig:
    """The MLMD store: SQLite file (default <output_root>/metadata.sqlite) unless mysql_host is
    set. The metadata layer (metadata/store.py) turns it into a connection. The MySQL password
    is no setting (settings are printed and recorded): it is read when connecting, from
    mysql_password_file or else the environment variable TAXI_MYSQL_PASSWORD."""
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
        _require(1 <= self.mysql_port <= 65535,
                 f"mysql_port must be in 1..65535, got {self.mysql_port}")
        _require(self.mysql_connect_timeout > 0,
                 f"mysql_connect_timeout must be > 0, got {self.mysql_connect_timeout}")
        _require(bool(self.mysql_ssl_cert) == bool(self.mysql_ssl_key),
                 "mysql_ssl_cert and mysql_ssl_key go together (a client certificate and "
                 "its key): set both or neither")


ALERT_KINDS = ("failed", "stopped", "not_blessed", "pushed", "unchanged", "succeeded")


@dataclasses.dataclass
class AlertsConfig:
    """Notifications when a run ends (alerts/). The webhook is on when TAXI_ALERT_WEBHOOK_URL
    is set, e-mail when smtp_host and alert_email_to are. Secrets (the webhook URL, the SMTP
    password in TAXI_ALERT_SMTP_PASSWORD) are read from the environment only: settings are
    printed by `config` and recorded with every run."""
    # Which outcomes notify: failed, stopped (a gate), not_blessed, pushed, unchanged, and
    # succeeded (a Vertex run, whose exit handler cannot tell pushed from not blessed).
    alert_on: List[str] = dataclasses.field(
        default_factory=lambda: ["failed", "stopped", "not_blessed", "pushed", "succeeded"])
    # slack: Slack-compatible incoming-webhook JSON; json: the outcome as a generic JSON body.
    webhook_format: str = "slack"
    smtp_host: str = ""
    smtp_port: int = 25
    # STARTTLS on a plain connection, or SMTPS (implicit TLS, usually port 465): either way
    # the server's certificate and host name are verified, against smtp_ca_file if set (a
    # private CA) or else the system's CAs.
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_ca_file: str = ""
    smtp_user: str = ""
    # A login without TLS sends the password in clear text: refused unless this is true.
    smtp_allow_plaintext_login: bool = False
    alert_email_from: str = "taxi-pipeline@localhost"
    alert_email_to: List[str] = dataclasses.field(default_factory=list)
    # A failed delivery is tried again this many times, after backoff, 2x, 4x ... seconds.
    alert_retries: int = 3
    alert_backoff_seconds: float = 2.0
    alert_timeout_seconds: float = 10.0

    def validate(self) -> None:
        unknown = sorted(set(self.alert_on) - set(ALERT_KINDS))
        _require(not unknown, f"alert_on: unknown outcome(s) {unknown}; choose from "
                              f"{list(ALERT_KINDS)}")
        _require(self.webhook_format in ("slack", "json"),
                 f"webhook_format must be slack or json, got {self.webhook_format!r}")
        _require(1 <= self.smtp_port <= 65535,
                 f"smtp_port must be in 1..65535, got {self.smtp_port}")
        _require(not (self.smtp_starttls and self.smtp_ssl),
                 "smtp_starttls and smtp_ssl exclude each other: STARTTLS upgrades a plain "
                 "connection, smtp_ssl (SMTPS, port 465) starts with TLS")
        _require(not self.smtp_user or self.smtp_starttls or self.smtp_ssl
                 or self.smtp_allow_plaintext_login,
                 f"smtp_user: a login to {self.smtp_host or 'the SMTP server'} without TLS sends "
                 "the password in clear text; set smtp_starttls or smtp_ssl, or "
                 "smtp_allow_plaintext_login=true to allow it")
        _require(self.alert_retries >= 0, f"alert_retries must be >= 0, got {self.alert_retries}")
        for name in ("alert_backoff_seconds", "alert_timeout_seconds"):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")


METRICS_OFF = "none"


@dataclasses.dataclass
class MetricsConfig:
    """Prometheus metrics of each run (monitoring/metrics.py): a textfile for node_exporter's
    textfile collector, and a push to a Pushgateway when pushgateway_url is set."""
    # Default: <output_root>/metrics/<pipeline_name>.prom; "none" writes no textfile.
    metrics_textfile: str = ""
    # host:port or http(s)://host:port of a Pushgateway; empty: no push.
    pushgateway_url: str = ""
    pushgateway_job: str = "taxi-pipeline"
    pushgateway_timeout: float = 10.0

    def validate(self) -> None:
        _require(self.pushgateway_timeout > 0,
                 f"pushgateway_timeout must be > 0, got {self.pushgateway_timeout}")
        _require(bool(self.pushgateway_job), "pushgateway_job must not be empty")


@dataclasses.dataclass
class OpenLineageConfig:
    """OpenLineage events of each run (monitoring/openlineage.py), sent when the run ends to a
    JSON-lines file and/or an HTTP endpoint (Marquez's api/v1/lineage, for one). The API key,
    if the endpoint wants one, comes from the environment only: TAXI_OPENLINEAGE_API_KEY."""
    # Empty: no file. One event per line, appended.
    openlineage_file: str = ""
    # Base URL of an OpenLineage HTTP endpoint; empty: none.
    openlineage_url: str = ""
    openlineage_endpoint: str = "api/v1/lineage"
    # The namespace of the pipeline's jobs (datasets are named by their URIs).
    openlineage_namespace: str = "taxi-pipeline"
    openlineage_timeout: float = 10.0

    def validate(self) -> None:
        _require(bool(self.openlineage_namespace), "openlineage_namespace must not be empty")
        _require(self.openlineage_timeout > 0,
                 f"openlineage_timeout must be > 0, got {self.openlineage_timeout}")
        _require(not self.openlineage_url or "://" in self.openlineage_url,
                 f"openlineage_url must be an http(s) URL, got {self.openlineage_url!r}")


# Section attribute of PipelineConfig -> its class, in the order `config` prints them.
SECTIONS: Dict[str, type] = {
    "data": DataConfig,
    "training": TrainingConfig,
    "gates": GatesConfig,
    "beam": BeamConfig,
    "airflow": AirflowConfig,
    "kubeflow": KubeflowConfig,
    "store": StoreConfig,
    "alerts": AlertsConfig,
    "metrics": MetricsConfig,
    "openlineage": OpenLineageConfig,
}


@dataclasses.dataclass
class PipelineConfig:
    pipeline_name: str = "taxi"
    # Everything the pipeline writes (pipeline root, MLMD store, serving models, logs) goes here.
    output_root: str = str(PROJECT_ROOT / "outputs")
    enable_cache: bool = True
    # Default: <output_root>/serving_model/<pipeline_name>.
    serving_dir: str = ""
    # Default: <output_root>/logs/pipeline.log.
    log_file: str = ""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    gates: GatesConfig = dataclasses.field(default_factory=GatesConfig)
    beam: BeamConfig = dataclasses.field(default_factory=BeamConfig)
    airflow: AirflowConfig = dataclasses.field(default_factory=AirflowConfig)
    kubeflow: KubeflowConfig = dataclasses.field(default_factory=KubeflowConfig)
    store: StoreConfig = dataclasses.field(default_factory=StoreConfig)
    alerts: AlertsConfig = dataclasses.field(default_factory=AlertsConfig)
    metrics: MetricsConfig = dataclasses.field(default_factory=MetricsConfig)
    openlineage: OpenLineageConfig = dataclasses.field(default_factory=OpenLineageConfig)

    def __post_init__(self) -> None:
        self.output_root = _absolute(self.output_root)
        self.data.data_root = _absolute(self.data.data_root)
        self.data.schema_path = _absolute(self.data.schema_path)
        # Derived defaults: paths only, nothing is created here.
        if not self.store.metadata_path:
            self.store.metadata_path = os.path.join(self.output_root, "metadata.sqlite")
        if not self.serving_dir:
            self.serving_dir = os.path.join(self.output_root, "serving_model", self.pipeline_name)
        if not self.kubeflow.kfp_output_dir:
            self.kubeflow.kfp_output_dir = os.path.join(self.output_root, "kubeflow")
        if not self.log_file:
            self.log_file = os.path.join(self.output_root, "logs", "pipeline.log")
        if not self.metrics.metrics_textfile:
            self.metrics.metrics_textfile = os.path.join(self.output_root, "metrics",
                                                         f"{self.pipeline_name}.prom")

        # Relative paths mean "from where the command was given", not from wherever a worker
        # or an orchestrator later runs.
        self.serving_dir = _absolute(self.serving_dir)
        self.log_file = _absolute(self.log_file)
        self.store.metadata_path = _absolute(self.store.metadata_path)
        self.kubeflow.kfp_output_dir = _absolute(self.kubeflow.kfp_output_dir)
        if self.metrics.metrics_textfile != METRICS_OFF:
            self.metrics.metrics_textfile = _absolute(self.metrics.metrics_textfile)
        if self.openlineage.openlineage_file:
            self.openlineage.openlineage_file = _absolute(self.openlineage.openlineage_file)
        for holder, name in ((self.store, "mysql_password_file"), (self.store, "mysql_ssl_ca"),
                             (self.store, "mysql_ssl_capath"), (self.store, "mysql_ssl_cert"),
                             (self.store, "mysql_ssl_key"), (self.alerts, "smtp_ca_file")):
            if getattr(holder, name):
                setattr(holder, name, _absolute(getattr(holder, name)))
        self.validate()

    @classmethod
    def from_flat(cls, **values: Any) -> "PipelineConfig":
        """A config from flat setting names (train_steps=9 lands in `training`)."""
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown config setting(s): {', '.join(unknown)}")
        top = {k: v for k, v in values.items() if FIELDS[k][0] is None}
        sections = {name: section(**{k: v for k, v in values.items() if FIELDS[k][0] == name})
                    for name, section in SECTIONS.items()}
        return cls(**top, **sections)

    def replace(self, **changes: Any) -> "PipelineConfig":
        """A copy with some settings changed, by flat name; derived paths already set stay."""
        return PipelineConfig.from_flat(**{**self.flat(), **changes})

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_root, "pipeline_root", self.pipeline_name)

    def validate(self) -> None:
        _require(bool(self.pipeline_name)
                 and self.pipeline_name.replace("-", "").replace("_", "").isalnum(),
                 f"pipeline_name must be alphanumeric with - or _, got {self.pipeline_name!r}")
        for name in SECTIONS:
            getattr(self, name).validate()

    def flat(self) -> Dict[str, Any]:
        """{setting name: value} for every setting, unmasked."""
        out = {}
        for name, (section, _) in FIELDS.items():
            holder = self if section is None else getattr(self, section)
            value = getattr(holder, name)
            out[name] = list(value) if isinstance(value, list) else value
        return out

    def as_dict(self) -> Dict[str, Any]:
        """Top-level settings and one dict per section, as they may be shown or recorded:
        credentials in URLs and secret-named settings are masked (pipeline/redaction.py)."""
        return redact_settings(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def _fields() -> Dict[str, Tuple[Optional[str], dataclasses.Field]]:
    out: Dict[str, Tuple[Optional[str], dataclasses.Field]] = {}
    for f in dataclasses.fields(PipelineConfig):
        if f.name not in SECTIONS:
            out[f.name] = (None, f)
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f.name not in out, f"setting {f.name} is in two sections"
            out[f.name] = (section, f)
    return out


# Setting name -> (its section, or None for a top-level setting; its dataclass field).
FIELDS = _fields()


def field_type(name: str) -> str:
    t = FIELDS[name][1].type
    return t if isinstance(t, str) else t.__name__


def field_default(name: str) -> Any:
    f = FIELDS[name][1]
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def section_fields(section: Optional[str]) -> List[str]:
    """Setting names of a section (None: the top-level settings), in declaration order."""
    return [name for name, (s, _) in FIELDS.items() if s == section]


def parse_value(name: str, raw: str, source: str) -> Any:
    """One setting from text (an environment variable or a flag); errors name both."""
    kind = field_type(name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if kind.startswith("List"):
            raw = raw.strip()
            if raw.startswith("["):
                value = json.loads(raw)
                if not isinstance(value, list):
                    raise ValueError("expected a JSON list")
                return [str(v) for v in value]
            return raw.split()
        return raw
    except ValueError as e:
        raise ValueError(f"{source}: cannot read {raw!r} as {kind} for setting {name}: "
                         f"{e}") from None


def unknown_env_variables(environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """One warning line per TAXI_ variable that is no setting, naming the closest one."""
    environ = os.environ if environ is None else environ
    out = []
    for key in sorted(environ):
        if not key.startswith(ENV_PREFIX) or key in NON_SETTING_VARIABLES:
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name in FIELDS:
            continue
        close = difflib.get_close_matches(name, list(FIELDS), n=1)
        hint = (f"; did you mean {ENV_PREFIX}{close[0].upper()} (setting {close[0]})?"
                if close else "")
        out.append(f"WARNING: environment variable {key} is not a setting and is ignored{hint}")
    return out


def env_overrides(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    environ = os.environ if environ is None else environ
    out = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name in FIELDS:
            out[name] = parse_value(name, raw, f"environment variable {key}")
    return out


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def from_sources(args: Any = None, environ: Optional[Mapping[str, str]] = None,
                 **overrides: Any) -> PipelineConfig:
    """Defaults, then TAXI_* variables, then flags, then keyword overrides (flat names).

    `args` is any object with a `cfg_<name>` attribute (raw text or None) per flag given, such
    as the namespace console/settings.py's arguments parse into.
    """
    values: Dict[str, Any] = env_overrides(environ)
    if args is not None:
        for name in FIELDS:
            raw = getattr(args, f"cfg_{name}", None)
            if raw is not None:
                values[name] = parse_value(name, raw, f"command-line flag {flag(name)}")
    values.update(overrides)
    return PipelineConfig.from_flat(**values)
