"""The gates a span and a model must pass. Each dataset's spec (dataset.yaml) sets them; a
setting given here (flag, environment variable) overrides the spec for a run, and empty keeps
it."""
from __future__ import annotations

import dataclasses
from typing import Optional

from .paths import require


@dataclasses.dataclass
class GatesConfig:
    """Evaluator gates, on the problem type's headline metric (binary: AUC, multiclass:
    accuracy, regression: RMSE): `threshold` is the bound a candidate must reach (the smallest
    AUC or accuracy, the largest RMSE), `max_regression` how much worse than the last blessed
    model it may be overall, `max_slice_regression` within each slice the spec gates.

    Data gate (the AnomalyGate, pipeline/span_values.py): a span stops when a class of its
    label holds less than min_label_share of its examples, or when more than max_outlier_share
    of a feature's values lie outside the typical range the curated schema gives it."""
    threshold: Optional[float] = None
    max_regression: Optional[float] = None
    max_slice_regression: Optional[float] = None
    min_label_share: Optional[float] = None
    max_outlier_share: Optional[float] = None

    def validate(self) -> None:
        for name in ("max_regression", "max_slice_regression", "max_outlier_share"):
            value = getattr(self, name)
            require(value is None or value >= 0.0, f"{name} must be >= 0, got {value}")
        require(self.threshold is None or self.threshold >= 0.0,
                f"threshold must be >= 0, got {self.threshold}")
        require(self.min_label_share is None or 0.0 <= self.min_label_share <= 0.5,
                f"min_label_share must be in [0, 0.5], got {self.min_label_share}")
        require(self.max_outlier_share is None or self.max_outlier_share <= 1.0,
                f"max_outlier_share must be in [0, 1], got {self.max_outlier_share}")
