"""The serving folder as TensorFlow Serving sees it: numbered version folders, one record per
version of the model it holds, and the model config whose version labels are the aliases.

Every change appears whole or not at all: a version is copied into a hidden folder and
renamed to its number (rename is atomic on a POSIX filesystem, and refuses a name already
taken, so two concurrent pushes get two versions); records and the model config are written
to a temporary file and renamed over the old one. No TensorFlow: the model config is built and
parsed with TensorFlow Serving's own protos (tensorflow-serving-api), which import protobuf
only.

Whatever the process umask, files are written 0644 and folders 0755: TensorFlow Serving often
runs as another user and must read the model config, the records and every version.

Local folders only: on an object store (gs://) renames are copies, so there the pipeline keeps
TFX's own Pusher behaviour and these commands refuse the folder.
"""
import errno
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Dict, List, Optional

from google.protobuf import text_format

from tabflow import contract as C

SAVED_MODEL_FILE = "saved_model.pb"
INCOMING_PREFIX = ".incoming-"
REMOVING_PREFIX = ".removing-"


class ServingError(ValueError):
    """A serving folder that cannot be used as asked; the message is one line for the user."""


def is_local(path: str) -> bool:
    return "://" not in path


def model_name(serving_dir: str) -> str:
    """The model's name in TensorFlow Serving: the serving folder's own name."""
    return os.path.basename(os.path.normpath(serving_dir))


def versions(serving_dir: str) -> List[int]:
    """The version folders in the serving folder, oldest first."""
    if not os.path.isdir(serving_dir):
        return []
    return sorted(int(name) for name in os.listdir(serving_dir)
                  if name.isdigit() and os.path.isdir(os.path.join(serving_dir, name)))


FILE_MODE, FOLDER_MODE = 0o644, 0o755


def make_dirs(path: str) -> None:
    """os.makedirs, with every folder it creates readable by others."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return
    make_dirs(os.path.dirname(path))
    try:
        os.mkdir(path)
    except FileExistsError:
        return
    os.chmod(path, FOLDER_MODE)


def _readable_by_others(top: str) -> None:
    """Gives a copied tree the serving modes; symlinks are left as they are."""
    os.chmod(top, FOLDER_MODE)
    for root, folders, files in os.walk(top):
        for name in folders:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), FOLDER_MODE)
        for name in files:
            if not os.path.islink(os.path.join(root, name)):
                os.chmod(os.path.join(root, name), FILE_MODE)


def write_atomically(path: str, text: str) -> None:
    folder = os.path.dirname(path)
    make_dirs(folder)
    # mkstemp creates the file 0600, and a rename keeps that mode.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _copy_model(model_dir: str, target: str) -> None:
    """Copies the SavedModel with saved_model.pb last, as TFX's Pusher does: servers that
    watch a folder take that file as the sign that a model is complete."""
    shutil.copytree(model_dir, target,
                    ignore=lambda folder, names: [SAVED_MODEL_FILE] if folder == model_dir
                    else [])
    saved_model = os.path.join(model_dir, SAVED_MODEL_FILE)
    if os.path.exists(saved_model):
        shutil.copy2(saved_model, os.path.join(target, SAVED_MODEL_FILE))


def next_version(serving_dir: str, now: Optional[float] = None) -> int:
    """The current Unix time, or one more than the newest version when that is not later
    (TensorFlow Serving serves the highest version by default, so versions only grow)."""
    existing = versions(serving_dir)
    return max(int(now if now is not None else time.time()),
               (existing[-1] + 1) if existing else 0)


def install_version(model_dir: str, serving_dir: str, now: Optional[float] = None) -> int:
    """Copies a SavedModel folder into a new version of the serving folder; returns it.

    The version is next_version's. The copy is made in a hidden folder and renamed; when
    another push took the number first, the next number is tried."""
    make_dirs(serving_dir)
    incoming = os.path.join(serving_dir, f"{INCOMING_PREFIX}{uuid.uuid4().hex}")
    try:
        _copy_model(model_dir, incoming)
        _readable_by_others(incoming)
        version = next_version(serving_dir, now)
        while True:
            target = os.path.join(serving_dir, str(version))
            if not os.path.exists(target):
                try:
                    os.rename(incoming, target)
                    return version
                except OSError as e:
                    # Taken between the check and the rename: a non-empty folder refuses it.
                    if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
            version += 1
    finally:
        if os.path.exists(incoming):
            shutil.rmtree(incoming, ignore_errors=True)


# Records: which model each version holds -------------------------------------------------

@dataclass
class VersionRecord:
    version: int
    model_uri: str
    pushed_model_uri: str = ""


def record_path(serving_dir: str, version: int) -> str:
    return os.path.join(serving_dir, C.MODEL_SOURCES_FOLDER, f"{version}.json")


def write_record(serving_dir: str, record: VersionRecord) -> None:
    write_atomically(record_path(serving_dir, record.version), json.dumps(
        {"version": str(record.version), "model_uri": record.model_uri,
         "pushed_model_uri": record.pushed_model_uri}, sort_keys=True))


def records(serving_dir: str) -> Dict[int, VersionRecord]:
    folder = os.path.join(serving_dir, C.MODEL_SOURCES_FOLDER)
    out: Dict[int, VersionRecord] = {}
    if not os.path.isdir(folder):
        return out
    for name in os.listdir(folder):
        stem = name[:-len(".json")] if name.endswith(".json") else ""
        if not stem.isdigit():
            continue
        with open(os.path.join(folder, name)) as f:
            data = json.load(f)
        out[int(stem)] = VersionRecord(int(stem), data.get("model_uri", ""),
                                       data.get("pushed_model_uri", ""))
    return out


# TensorFlow Serving's model config ---------------------------------------------------------

def config_path(serving_dir: str) -> str:
    return os.path.join(serving_dir, C.MODEL_CONFIG_FILE)


def _config_pb2():
    from tensorflow_serving.config import model_server_config_pb2
    return model_server_config_pb2


def model_config_text(serving_dir: str, labels: Dict[str, int]) -> str:
    """A ModelServerConfig that loads exactly the labelled versions and names them."""
    pb2 = _config_pb2()
    config = pb2.ModelServerConfig()
    model = config.model_config_list.config.add()
    model.name = model_name(serving_dir)
    model.base_path = os.path.abspath(serving_dir)
    model.model_platform = "tensorflow"
    model.model_version_policy.specific.versions.extend(sorted(set(labels.values())))
    for alias, version in sorted(labels.items()):
        model.version_labels[alias] = version
    return text_format.MessageToString(config)


def read_labels(serving_dir: str) -> Dict[str, int]:
    """{alias: version} from the serving folder's model config; {} when there is none."""
    path = config_path(serving_dir)
    if not os.path.isfile(path):
        return {}
    pb2 = _config_pb2()
    try:
        with open(path) as f:
            config = text_format.Parse(f.read(), pb2.ModelServerConfig())
    except text_format.ParseError as e:
        raise ServingError(f"{path}: not a TensorFlow Serving model config ({e})") from None
    name = model_name(serving_dir)
    for model in config.model_config_list.config:
        if model.name == name:
            return dict(model.version_labels)
    return {}


def write_labels(serving_dir: str, labels: Dict[str, int]) -> None:
    """Rewrites the model config with these aliases; every labelled version must exist."""
    on_disk = set(versions(serving_dir))
    missing = sorted({v for v in labels.values() if v not in on_disk})
    if missing:
        raise ServingError(f"version(s) {', '.join(map(str, missing))} not in {serving_dir}")
    write_atomically(config_path(serving_dir), model_config_text(serving_dir, labels))


def remove_version(serving_dir: str, version: int) -> int:
    """Removes a version folder and its record; returns the bytes freed. The folder is
    renamed away first, so a server never sees half a version."""
    folder = os.path.join(serving_dir, str(version))
    freed = folder_bytes(folder)
    doomed = os.path.join(serving_dir, f"{REMOVING_PREFIX}{version}-{uuid.uuid4().hex}")
    os.rename(folder, doomed)
    shutil.rmtree(doomed)
    remove_record(serving_dir, version)
    return freed


def remove_record(serving_dir: str, version: int) -> None:
    record = record_path(serving_dir, version)
    if os.path.exists(record):
        os.unlink(record)


def remove_leftovers(serving_dir: str) -> List[str]:
    """Removes the hidden copies a killed install or removal left; returns their names. Only
    safe under the registry lock, which every install and removal holds."""
    names = sorted(n for n in os.listdir(serving_dir)
                   if n.startswith((INCOMING_PREFIX, REMOVING_PREFIX))) \
        if os.path.isdir(serving_dir) else []
    for name in names:
        shutil.rmtree(os.path.join(serving_dir, name), ignore_errors=True)
    return names


def folder_bytes(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total
