"""The Tuner's output files: the best hyperparameters and the trials it ran."""
import os
from typing import Dict, List, Optional

from tabflow.artifacts.errors import CorruptRecord
from tabflow.artifacts.files import read_json
from tabflow.contract import HYPERPARAMETERS_FILE, TUNER_RESULTS_FILE


def hyperparameters(uri: str) -> Optional[Dict[str, object]]:
    """The chosen values from keras-tuner's best_hyperparameters.txt (a JSON config)."""
    config = read_json(uri, HYPERPARAMETERS_FILE)
    if config is None:
        return None
    if not isinstance(config, dict):
        raise CorruptRecord(os.path.join(uri, HYPERPARAMETERS_FILE),
                            f"not a keras-tuner hyperparameters config: a JSON "
                            f"{type(config).__name__}, not an object")
    return config.get("values", config)


def tuner_trials(uri: str) -> Optional[List[dict]]:
    """The trials in the Tuner's tuner_results.json, as written; None without the file."""
    return read_json(uri, TUNER_RESULTS_FILE)
