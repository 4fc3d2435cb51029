"""TFX's Pusher executor, with a push to a folder handed to a subclass.

Relies on TFX 1.16.0's tfx.components.pusher.executor.Executor: its Do, which this replaces
for a filesystem destination the subclass accepts, and the steps of that Do reused here: the
private _log_startup (BaseExecutor), _MarkNotPushed and _MarkPushed (which write the
PushedModel's `pushed`, `pushed_destination` and `pushed_version` properties), the public
CheckBlessing and GetModelPath, and the exec property `push_destination` (a JSON
PushDestination) under the spec keys of tfx.types.standard_component_specs.
"""
import abc
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils


def filesystem_destination(exec_properties: Dict[str, Any]) -> Optional[str]:
    """The Pusher's filesystem base directory, or None for another kind of destination."""
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                              destination)
    if destination.WhichOneof("destination") != "filesystem":
        return None
    return destination.filesystem.base_directory


class FolderPusherExecutor(pusher_executor.Executor):
    """TFX's Pusher executor. For a filesystem destination `accepts` takes, it checks the
    blessing as TFX does and, for a blessed model, calls `push_to_folder` instead of copying;
    other destinations keep TFX's behaviour."""

    @abc.abstractmethod
    def accepts(self, base_directory: str) -> bool:
        """Whether this executor pushes to `base_directory` itself."""

    @abc.abstractmethod
    def push_to_folder(self, base_directory: str, model: types.Artifact,
                       push: types.Artifact, model_path: str) -> None:
        """Pushes the blessed `model` (its SavedModel at `model_path`) under `base_directory`
        and records the outcome in `push`, the PushedModel (mark_pushed when it pushed)."""

    def mark_pushed(self, push: types.Artifact, destination: str, version: str) -> None:
        self._MarkPushed(push, pushed_destination=destination, pushed_version=version)

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        base_directory = filesystem_destination(exec_properties)
        if not base_directory or not self.accepts(base_directory):
            super().Do(input_dict, output_dict, exec_properties)
            return
        self._log_startup(input_dict, output_dict, exec_properties)
        model = artifact_utils.get_single_instance(
            input_dict[standard_component_specs.MODEL_KEY])
        push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(push)
            return
        self.push_to_folder(base_directory, model, push, self.GetModelPath(input_dict))
