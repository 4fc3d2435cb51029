"""OpenLineage events."""
from __future__ import annotations

import dataclasses
from .paths import require


@dataclasses.dataclass
class OpenLineageConfig:
    """OpenLineage events of each run (tabflow/monitoring/openlineage.py), sent when the run ends
    to a JSON-lines file and/or an HTTP endpoint (Marquez's api/v1/lineage, for one). The API
    key, if the endpoint wants one, comes from the environment only:
    TABFLOW_OPENLINEAGE_API_KEY."""
    # Empty: no file. One event per line, appended.
    openlineage_file: str = ""
    # Base URL of an OpenLineage HTTP endpoint; empty: none.
    openlineage_url: str = ""
    openlineage_endpoint: str = "api/v1/lineage"
    # The namespace of the pipeline's jobs (datasets are named by their URIs).
    openlineage_namespace: str = "tabflow"
    openlineage_timeout: float = 10.0

    def validate(self) -> None:
        require(bool(self.openlineage_namespace), "openlineage_namespace must not be empty")
        require(self.openlineage_timeout > 0,
                 f"openlineage_timeout must be > 0, got {self.openlineage_timeout}")
        require(not self.openlineage_url or "://" in self.openlineage_url,
                 f"openlineage_url must be an http(s) URL, got {self.openlineage_url!r}")
