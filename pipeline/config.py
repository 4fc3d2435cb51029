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


@dataclasses.dataclass
class PipelineConfig:
    pipeline_name: str = "taxi"
    # Everything the pipeline writes (pipeline root, MLMD store, serving models, logs) goes here.
    output_root: str = str(PROJECT_ROOT / "outputs")
    data_root: str = str(PROJECT_ROOT / "data" / "taxi")
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
    beam_args: List[str] = dataclasses.field(
        default_factory=lambda: ["--direct_running_mode=in_memory", "--direct_num_workers=1"]
    )

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
        self.output_root = str(Path(self.output_root).expanduser().resolve())
        for name in ("data_root", "schema_path"):
            setattr(self, name, str(Path(getattr(self, name)).expanduser().resolve()))
        if not self.metadata_path:
            self.metadata_path = str(Path(self.output_root) / "metadata.sqlite")
        if not self.serving_dir:
            self.serving_dir = str(Path(self.output_root) / "serving_model" / self.pipeline_name)
        if not self.log_file:
            self.log_file = str(Path(self.output_root) / "logs" / "pipeline.log")
        self.validate()

    @property
    def pipeline_root(self) -> str:
        return str(Path(self.output_root) / "pipeline_root" / self.pipeline_name)

    def validate(self) -> None:
        positive = ("train_steps", "eval_steps", "batch_size", "tuner_trials",
                    "tuner_train_steps", "tuner_eval_steps")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"config setting {name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.max_auc_regression <= 1.0:
            raise ValueError(f"config setting max_auc_regression must be in [0, 1], "
                             f"got {self.max_auc_regression}")
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
        from tfx.orchestration import metadata  # deferred: importing TFX costs seconds
        if self.mysql_host:
            return metadata.mysql_metadata_connection_config(
                host=self.mysql_host, port=self.mysql_port, database=self.mysql_database,
                username=self.mysql_user, password=self.mysql_password)
        Path(self.metadata_path).parent.mkdir(parents=True, exist_ok=True)
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
