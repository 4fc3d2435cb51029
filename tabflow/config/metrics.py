"""Prometheus metrics."""
from __future__ import annotations

import dataclasses
from .paths import require


METRICS_OFF = "none"


@dataclasses.dataclass
class MetricsConfig:
    """Prometheus metrics of each run (tabflow/monitoring/metrics.py): a textfile for node_exporter's
    textfile collector, and a push to a Pushgateway when pushgateway_url is set."""
    # Default: <output_root>/metrics/<pipeline_name>.prom; "none" writes no textfile.
    metrics_textfile: str = ""
    # host:port or http(s)://host:port of a Pushgateway; empty: no push.
    pushgateway_url: str = ""
    pushgateway_job: str = "tabflow"
    pushgateway_timeout: float = 10.0

    def validate(self) -> None:
        require(self.pushgateway_timeout > 0,
                 f"pushgateway_timeout must be > 0, got {self.pushgateway_timeout}")
        require(bool(self.pushgateway_job), "pushgateway_job must not be empty")
