"""Artifact folders as files: their split sub-folders, JSON files and every file's size."""
import json
import os
from typing import Dict, List

from pipeline.contract import SPLIT_PREFIX


def split_dirs(uri: str) -> Dict[str, str]:
    """{split name: folder} for a split-aware artifact's Split-* folders (empty when uri is
    not a folder)."""
    if not os.path.isdir(uri):
        return {}
    return {name[len(SPLIT_PREFIX):]: os.path.join(uri, name)
            for name in sorted(os.listdir(uri)) if name.startswith(SPLIT_PREFIX)}


def read_json(uri: str, name: str):
    """The JSON value in file `name` of an artifact folder; None when there is no such file."""
    path = os.path.join(uri, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def data_files(uri: str) -> List[Dict[str, object]]:
    """Every file under an artifact folder, relative path and size, sorted."""
    out = []
    for root, _, names in os.walk(uri):
        for name in sorted(names):
            path = os.path.join(root, name)
            out.append({"path": os.path.relpath(path, uri), "bytes": os.path.getsize(path)})
    return sorted(out, key=lambda f: f["path"])
