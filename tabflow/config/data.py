"""What the pipeline reads: a dataset folder (tabflow/dataset.py), its spans and curated schema."""
from __future__ import annotations

import dataclasses

from .paths import PROJECT_ROOT, require


@dataclasses.dataclass
class DataConfig:
    """`dataset` is the folder holding dataset.yaml; its spans and curated schema are read from
    there unless data_root or schema_path point elsewhere (empty: the folder's)."""
    dataset: str = str(PROJECT_ROOT / "data" / "taxi")
    # Empty: <dataset>/spans, one folder per span (span-1, span-2, ...), each with CSV files.
    data_root: str = ""
    # 0: the latest span in data_root; N: exactly span N.
    span: int = 0
    # Empty: <dataset>/schema.pbtxt.
    schema_path: str = ""

    def validate(self) -> None:
        require(self.span >= 0, f"span must be 0 (latest) or a span number, got {self.span}")
