"""The pipeline's typed configuration: defaults for a local run, overridable from env and CLI.

Precedence, lowest first: field defaults, `TAXI_<FIELD>` environment variables, command-line
flags. Nothing here touches the filesystem or network when imported.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "TAXI_"


def _absolute(path: str) -> str:
    """Local paths become absolute; URIs such as gs://bucket/dir are kept as they are."""
    if "://" in path:
        return path.rstrip("/")
    return str(Path(path).expanduser().resolve())


@dataclasses.dataclass
class PipelineConfig:
    pipeline_name: str = "taxi"
    # Everything the pipeline writes (pipeline root, MLMD store, serving models, logs) goes here.
    output_root: str = str(PROJECT_ROOT / "outputs")
    # data_root holds one folder per span (span-1, span-2, ...), each with CSV files.
    data_root: str = str(PROJECT_ROOT / "data" / "spans")
    # 0: the latest span in data_root; N: exactly span N.
    span: int = 0
    schema_path: str = str(PROJECT_ROOT / "schema" / "schema.pbtxt")

    train_steps: int = 1000
    eval_steps: int = 150
    batch_size: int = 40
    tuner_trials: int = 2
    tuner_train_steps: int = 300
    tuner_eval_steps: int = 50

    # Evaluator gates: the candidate must reach min_auc and lose at most max_auc_regression
    # against the last blessed model.
    min_auc: float = 0.7
    max_auc_regression: float = 0.01

    enable_cache: bool = True

    # Beam for the Beam-based components (ExampleGen, StatisticsGen, Transform, Evaluator):
    # a preset (see pipeline/beam_presets.py) plus any extra `beam_args`, which win.
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

    # Airflow (runners/airflow_dag.py): an empty schedule means "only when triggered".
    airflow_schedule: str = "@daily"
    airflow_start_date: str = "2026-01-01"
    airflow_retries: int = 2
    airflow_retry_delay_seconds: int = 300
    airflow_max_retry_delay_seconds: int = 3600
    airflow_exponential_backoff: bool = True

    # Kubeflow v2 / Vertex (runners/kubeflow_v2.py): the image runs every component.
    kfp_image: str = "taxi-tfx-pipeline:latest"
    kfp_target: str = "vertex"
    kfp_endpoint: str = ""
    kfp_output_dir: str = ""

    # MLMD: SQLite file (default: <output_root>/metadata.sqlite) unless mysql_host is set.
    metadata_path: str = ""
    mysql_host: str = ""
    mysql_port: int = 3306
    mysql_database: str = "mlmd"
    mysql_user: str = "root"
    mysql_password: str = ""

    serving_dir: str = ""
    log_file: str = ""

    def __post_init__(self) -> None:
        for name in ("output_root", "data_root", "schema_path"):
            setattr(self, name, _absolute(getattr(self, name)))
        if not self.metadata_path:
            self.metadata_path = os.path.join(self.output_root, "metadata.sqlite")
        if not self.serving_dir:
            self.serving_dir = os.path.join(self.output_root, "serving_model", self.pipeline_name)
        if not self.kfp_output_dir:
            self.kfp_output_dir = os.path.join(self.output_root, "kubeflow")
        if not self.log_file:
            self.log_file = os.path.join(self.output_root, "logs", "pipeline.log")
        self.validate()

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_root, "pipeline_root", self.pipeline_name)

    def validate(self) -> None:
        positive = ("train_steps", "eval_steps", "batch_size", "tuner_trials",
                    "tuner_train_steps", "tuner_eval_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"config setting {name} must be >= 1, got {getattr(self, name)}")
        if self.span < 0:
            raise ValueError(f"config setting span must be 0 (latest) or a span number, "
                             f"got {self.span}")
        if not 0.0 <= self.min_auc <= 1.0:
            raise ValueError(f"config setting min_auc must be in [0, 1], got {self.min_auc}")
        if not 1 <= self.mysql_port <= 65535:
            raise ValueError(f"config setting mysql_port must be in 1..65535, got {self.mysql_port}")
        if not 0.0 <= self.max_auc_regression <= 1.0:
            raise ValueError(f"config setting max_auc_regression must be in [0, 1], "
                             f"got {self.max_auc_regression}")
        from pipeline.beam_presets import PRESETS
        if self.beam_preset not in PRESETS:
            raise ValueError(f"config setting beam_preset must be one of {sorted(PRESETS)}, "
                             f"got {self.beam_preset!r}")
        if self.kfp_target not in ("vertex", "kfp"):
            raise ValueError(f"config setting kfp_target must be 'vertex' or 'kfp', "
                             f"got {self.kfp_target!r}")
        if not self.pipeline_name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"config setting pipeline_name must be alphanumeric with - or _, "
                             f"got {self.pipeline_name!r}")

    def as_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["mysql_password"]:
            d["mysql_password"] = "***"
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    def metadata_connection_config(self):
        """None when the store path is a URI: KFP and Vertex keep lineage in their own service."""
        if not self.mysql_host and "://" in self.metadata_path:
            return None
        from tfx.orchestration import metadata  # deferred: importing TFX costs seconds
        if self.mysql_host:
            return metadata.mysql_metadata_connection_config(
                host=self.mysql_host, port=self.mysql_port, database=self.mysql_database,
                username=self.mysql_user, password=self.mysql_password)
        os.makedirs(os.path.dirname(self.metadata_path), exist_ok=True)
        return metadata.sqlite_metadata_connection_config(self.metadata_path)


_FIELDS = {f.name: f for f in dataclasses.fields(PipelineConfig)}


def _field_type(name: str) -> str:
    t = _FIELDS[name].type
    return t if isinstance(t, str) else t.__name__


def _parse_value(name: str, raw: str, source: str) -> Any:
    kind = _field_type(name)
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
        raise ValueError(f"{source}: cannot read {raw!r} as {kind} for setting {name}: {e}") from None


def env_overrides(environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    environ = os.environ if environ is None else environ
    out = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name in _FIELDS:
            out[name] = _parse_value(name, raw, f"environment variable {key}")
    return out


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline settings (also TAXI_<NAME> env variables)")
    for name in _FIELDS:
        flag = "--" + name.replace("_", "-")
        help_default = _FIELDS[name].default
        if help_default is dataclasses.MISSING:
            help_default = "see config"
        group.add_argument(flag, dest=f"cfg_{name}", metavar=_field_type(name).upper(),
                           default=None, help=f"default: {help_default}")


def from_sources(args: Optional[argparse.Namespace] = None,
                 environ: Optional[Mapping[str, str]] = None,
                 **overrides: Any) -> PipelineConfig:
    values: Dict[str, Any] = env_overrides(environ)
    if args is not None:
        for name in _FIELDS:
            raw = getattr(args, f"cfg_{name}", None)
            if raw is not None:
                flag = "--" + name.replace("_", "-")
                values[name] = _parse_value(name, raw, f"command-line flag {flag}")
    values.update(overrides)
    return PipelineConfig(**values)


def parse_config(argv: Sequence[str], environ: Optional[Mapping[str, str]] = None) -> PipelineConfig:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return from_sources(parser.parse_args(list(argv)), environ)
