"""Small readers for artifact folders: hyperparameters, tuner results, data files."""
import json
import os
from typing import Dict, List, Optional


def read_json(uri: str, name: str):
    path = os.path.join(uri, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def hyperparameters(uri: str) -> Optional[Dict[str, object]]:
    """The chosen values from keras-tuner's best_hyperparameters.txt (a JSON config)."""
    config = read_json(uri, "best_hyperparameters.txt")
    return None if config is None else config.get("values", config)


def tuner_trials(uri: str) -> Optional[List[dict]]:
    return read_json(uri, "tuner_results.json")


def data_files(uri: str) -> List[Dict[str, object]]:
    """Every file under an artifact folder, relative path and size, sorted."""
    out = []
    for root, _, names in os.walk(uri):
        for name in sorted(names):
            path = os.path.join(root, name)
            out.append({"path": os.path.relpath(path, uri), "bytes": os.path.getsize(path)})
    return sorted(out, key=lambda f: f["path"])
