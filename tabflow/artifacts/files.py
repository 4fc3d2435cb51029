"""Artifact folders as files: their split sub-folders, JSON files and every file's size."""
import json
import os
from typing import Dict, List

from tabflow.artifacts.errors import CorruptRecord
from tabflow.contract import SPLIT_PREFIX


def split_dirs(uri: str) -> Dict[str, str]:
    """{split name: folder} for a split-aware artifact's Split-* folders (empty when uri is
    not a folder)."""
    if not os.path.isdir(uri):
        return {}
    return {name[len(SPLIT_PREFIX):]: os.path.join(uri, name)
            for name in sorted(os.listdir(uri)) if name.startswith(SPLIT_PREFIX)}


def read_json(uri: str, name: str):
    """The JSON value in file `name` of an artifact folder; None when there is no such file.
    Raises CorruptRecord naming the file and the byte where the text stops being JSON."""
    path = os.path.join(uri, name)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorruptRecord(path, f"not UTF-8 text: {e.reason}", e.start) from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CorruptRecord(path, f"not JSON: {e.msg} at line {e.lineno} column {e.colno}",
                            len(text[:e.pos].encode("utf-8"))) from e
    except RecursionError as e:
        raise CorruptRecord(path, "not JSON: nested deeper than the parser's stack") from e


def data_files(uri: str) -> List[Dict[str, object]]:
    """Every file under an artifact folder, relative path and size, sorted."""
    out = []
    for root, _, names in os.walk(uri):
        for name in sorted(names):
            path = os.path.join(root, name)
            out.append({"path": os.path.relpath(path, uri), "bytes": os.path.getsize(path)})
    return sorted(out, key=lambda f: f["path"])
