"""Small readers for artifact folders: schemas, hyperparameters, tuner results, data files."""
import json
import os
import re
from typing import Dict, List, Optional

SCHEMA_FILE = "schema.pbtxt"


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|#[^\n]*|[{}:]|[^\s{}:"#]+')


def schema_features(uri: str) -> Optional[Dict[str, str]]:
    """{feature name: "TYPE, fixed shape" or "TYPE, varlen"} from an artifact's schema.pbtxt.

    A small scanner of the text format's top-level `feature { ... }` blocks: parsing the
    whole Schema with protobuf's pure-Python text parser costs tens of milliseconds per file,
    and a feature's name, type and whether it has a shape are all a lineage query compares.
    """
    path = os.path.join(uri, SCHEMA_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        tokens = [t for t in _TOKEN.findall(f.read()) if not t.startswith("#")]
    features: Dict[str, str] = {}
    depth, in_feature, previous = 0, False, ""
    current: Dict[str, str] = {}
    for index, token in enumerate(tokens):
        if token == "{":
            depth += 1
            if depth == 1:
                in_feature, current = previous == "feature", {}
            elif depth == 2 and in_feature and previous == "shape":
                current["shape"] = "fixed shape"
        elif token == "}":
            depth -= 1
            if depth == 0 and in_feature and "name" in current:
                features[current["name"]] = (f"{current.get('type', 'TYPE_UNKNOWN')}, "
                                             f"{current.get('shape', 'varlen')}")
                in_feature = False
        elif depth == 1 and in_feature and previous == ":" and tokens[index - 2] in (
                "name", "type"):
            current[tokens[index - 2]] = token.strip('"')
        previous = token
    return features


def schema_differences(old: Optional[Dict[str, str]],
                       new: Optional[Dict[str, str]]) -> List[str]:
    """Feature differences between two schema_features maps (empty = same features)."""
    if old is None or new is None:
        return []
    out = [f"+ {name} ({new[name]})" for name in sorted(set(new) - set(old))]
    out += [f"- {name}" for name in sorted(set(old) - set(new))]
    out += [f"~ {name}: {old[name]} -> {new[name]}"
            for name in sorted(set(old) & set(new)) if old[name] != new[name]]
    return out


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
