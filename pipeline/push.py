"""Pushing a model to the serving folder: whole, under a version of its own, at most once.

TFX's Pusher writes a new version every time it executes for a blessed model, copies it file by
file into the final folder (a server watching the folder can load half a model), and when two
pushes land in the same second the second skips its copy but records the first one's folder as
its own. For a local serving folder this executor instead:
- installs the model atomically under a version no other push has taken (tabflow/registry/serving.py);
- keeps a record per version under `<serving folder>/.model-sources/` (TensorFlow Serving
  ignores folders whose names are not version numbers) and, when the model already serves from
  a version, records pushed=0 with `already_pushed_version` instead of copying it again;
- points the `serving` alias of the folder's TensorFlow Serving model config at the new
  version, keeping the other aliases.
It changes the serving folder under the registry lock and through a journal entry, so a push
killed part-way is undone by the next push or registry command (tabflow/registry/pushes.py).
Other destinations (gs://) keep TFX's behaviour.
"""
import os
from typing import Optional

from tfx import types
from tfx.utils import io_utils

from tabflow import contract
from tabflow.compat.pusher import FolderPusherExecutor
from tabflow.registry import serving
from tabflow.registry.lock import serving_lock
from tabflow.registry.pushes import PUSH_WAIT_SECONDS, publish_locked, settle
SOURCES_FOLDER = contract.MODEL_SOURCES_FOLDER
ALREADY_PUSHED_PROPERTY = contract.ALREADY_PUSHED_PROPERTY


def pushed_version_of(base_directory: str, model_uri: str) -> Optional[str]:
    """The serving version that already holds the model at `model_uri`, if any."""
    for version, record in sorted(serving.records(base_directory).items()):
        if record.model_uri == model_uri and os.path.isdir(
                os.path.join(base_directory, str(version))):
            return str(version)
    return None


class OncePerModelExecutor(FolderPusherExecutor):
    """TFX's Pusher executor, pushing atomically and never a second version of one model."""

    def accepts(self, base_directory: str) -> bool:
        return serving.is_local(base_directory)

    def push_to_folder(self, base_directory: str, model: types.Artifact, push: types.Artifact,
                       model_path: str) -> None:
        with serving_lock(base_directory, "push", PUSH_WAIT_SECONDS):
            # Settled first: a record a killed push left must not pass for a push.
            settle(base_directory)
            version = pushed_version_of(base_directory, model.uri)
            if version is not None:
                push.set_int_custom_property(contract.PUSHED_PROPERTY, 0)
                push.set_string_custom_property(ALREADY_PUSHED_PROPERTY, version)
                push.set_string_custom_property(contract.PUSHED_DESTINATION_PROPERTY,
                                                os.path.join(base_directory, version))
                return
            # The archive copy in the PushedModel artifact, as TFX's Pusher keeps one.
            io_utils.copy_dir(model_path, push.uri)
            number = publish_locked(base_directory, model_path, model.uri, push.uri)
        self.mark_pushed(push, os.path.join(base_directory, str(number)), str(number))
