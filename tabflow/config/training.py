"""Tuner and Trainer budgets."""
from __future__ import annotations

import dataclasses
from .paths import require


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
            require(value >= low, f"{f.name} must be >= {low}, got {value}")
