"""The pipeline's typed configuration, in sections: defaults for a local run, overridable from
the environment and the command line.

`PipelineConfig` holds what every part of the project reads (pipeline name, output root, cache,
serving folder, log file) and one section per concern, each in a module of this package:
`data`, `training`, `gates`, `beam`, `airflow`, `kubeflow`, `store`, `alerts`, `metrics`,
`openlineage`. Setting names are unique across sections, so the user-facing
names stay flat: environment variable `TABFLOW_<NAME>` (or the older `TAXI_<NAME>`, see
tabflow/environment.py), flag `--<name>` (tabflow/console/settings.py), and keyword
`from_sources(train_steps=9)`; code reads `config.training.train_steps`.

Precedence, lowest first: field defaults, `TABFLOW_<NAME>` environment variables, command-line
flags, keyword overrides. Building a config reads no file and creates nothing: the runner that
needs a folder (the SQLite store's, the log's) creates it.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

from tabflow import environment
from tabflow.redaction import SECRET_SUFFIXES, redact_settings

from .airflow import AIRFLOW_SCHEDULE_PRESETS, AirflowConfig
from .alerts import ALERT_KINDS, AlertsConfig
from .beam import BEAM_PRESETS, PORTABLE_ENVIRONMENT_TYPES, BeamConfig
from .data import DataConfig
from .gates import GatesConfig
from .kubeflow import KubeflowConfig
from .metrics import METRICS_OFF, MetricsConfig
from .openlineage import OpenLineageConfig
from .paths import PROJECT_ROOT, absolute, require
from .store import StoreConfig
from .training import TrainingConfig

ENV_PREFIX = environment.PREFIX
# Variables that are not settings (under either prefix): ./dev's choice of virtualenv, the
# image's commit, the tests' fault injection, and the secrets (tabflow/redaction.py), which are
# read from the environment (or a file) only.
NON_SETTING_SUFFIXES = ("VENV", "TEST_FAIL_ONCE", "TEST_CRASH_AT", "GIT_COMMIT") + SECRET_SUFFIXES


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
    # Default: the dataset folder's name.
    pipeline_name: str = ""
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
        self.output_root = absolute(self.output_root)
        self.data.dataset = absolute(self.data.dataset)
        if not self.pipeline_name:
            self.pipeline_name = os.path.basename(self.data.dataset.rstrip("/")) or "pipeline"
        self.data.data_root = absolute(self.data.data_root
                                       or os.path.join(self.data.dataset, "spans"))
        self.data.schema_path = absolute(self.data.schema_path
                                         or os.path.join(self.data.dataset, "schema.pbtxt"))
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
        self.serving_dir = absolute(self.serving_dir)
        self.log_file = absolute(self.log_file)
        self.store.metadata_path = absolute(self.store.metadata_path)
        self.kubeflow.kfp_output_dir = absolute(self.kubeflow.kfp_output_dir)
        if self.metrics.metrics_textfile != METRICS_OFF:
            self.metrics.metrics_textfile = absolute(self.metrics.metrics_textfile)
        if self.openlineage.openlineage_file:
            self.openlineage.openlineage_file = absolute(self.openlineage.openlineage_file)
        for holder, name in ((self.store, "mysql_password_file"), (self.store, "mysql_ssl_ca"),
                             (self.store, "mysql_ssl_capath"), (self.store, "mysql_ssl_cert"),
                             (self.store, "mysql_ssl_key"), (self.alerts, "smtp_ca_file")):
            if getattr(holder, name):
                setattr(holder, name, absolute(getattr(holder, name)))
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
        require(bool(self.pipeline_name)
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
        credentials in URLs and secret-named settings are masked (tabflow/redaction.py)."""
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
    if kind.startswith("Optional["):
        # Empty text means "not set here": the dataset's spec decides.
        if not raw.strip():
            return None
        kind = kind[len("Optional["):-1]
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
    """One warning line per TABFLOW_ (or TAXI_) variable that is no setting, naming the closest
    one, and one per setting given under both prefixes with different values."""
    environ = os.environ if environ is None else environ
    out = []
    for key in sorted(environ):
        suffix = environment.suffix_of(key)
        if suffix is None or suffix in NON_SETTING_SUFFIXES:
            continue
        name = suffix.lower()
        if name in FIELDS:
            current, legacy = environment.names(suffix)
            if key == legacy and current in environ and environ[current] != environ[key]:
                out.append(f"WARNING: {key} and {current} are both set; {current} is used")
            continue
        close = difflib.get_close_matches(name, list(FIELDS), n=1)
        hint = (f"; did you mean {ENV_PREFIX}{close[0].upper()} (setting {close[0]})?"
                if close else "")
        out.append(f"WARNING: environment variable {key} is not a setting and is ignored{hint}")
    return out


def env_overrides(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """Settings from TABFLOW_<NAME> variables, and from TAXI_<NAME> where no TABFLOW_<NAME> is
    set (tabflow/environment.py)."""
    environ = os.environ if environ is None else environ
    out = {}
    for name in FIELDS:
        key = environment.set_as(name.upper(), environ)
        if key is not None:
            out[name] = parse_value(name, environ[key], f"environment variable {key}")
    return out


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def from_sources(args: Any = None, environ: Optional[Mapping[str, str]] = None,
                 **overrides: Any) -> PipelineConfig:
    """Defaults, then TABFLOW_* (or TAXI_*) variables, then flags, then keyword overrides
    (flat names).

    `args` is any object with a `cfg_<name>` attribute (raw text or None) per flag given, such
    as the namespace tabflow/console/settings.py's arguments parse into.
    """
    values: Dict[str, Any] = env_overrides(environ)
    if args is not None:
        for name in FIELDS:
            raw = getattr(args, f"cfg_{name}", None)
            if raw is not None:
                values[name] = parse_value(name, raw, f"command-line flag {flag(name)}")
    values.update(overrides)
    return PipelineConfig.from_flat(**values)
