"""Pushing a model to the serving folder at most once.

TFX's Pusher writes a new version every time it executes for a blessed model, so a model that
is blessed again (a gate setting changed, or a re-evaluation the user asked for) would be
copied into a second serving version. This executor keeps a record per pushed version under
`<serving folder>/.model-sources/` (TensorFlow Serving ignores folders whose names are not
version numbers) and, when the model already serves from a version, records
pushed=0 with `already_pushed_version` instead of copying it again.
"""
import json
import os
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.pusher import executor as pusher_executor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from pipeline import contract

SOURCES_FOLDER = ".model-sources"
ALREADY_PUSHED_PROPERTY = "already_pushed_version"


def _base_directory(exec_properties: Dict[str, Any]) -> Optional[str]:
    destination = pusher_pb2.PushDestination()
    proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY],
                              destination)
    if destination.WhichOneof("destination") != "filesystem":
        return None
    return destination.filesystem.base_directory


def pushed_version_of(base_directory: str, model_uri: str) -> Optional[str]:
    """The serving version that already holds the model at `model_uri`, if any."""
    folder = os.path.join(base_directory, SOURCES_FOLDER)
    if not fileio.isdir(folder):
        return None
    for name in sorted(fileio.listdir(folder)):
        with fileio.open(os.path.join(folder, name)) as f:
            record = json.loads(f.read())
        if record.get("model_uri") == model_uri and fileio.isdir(
                os.path.join(base_directory, record.get("version", ""))):
            return record["version"]
    return None


class OncePerModelExecutor(pusher_executor.Executor):
    """TFX's Pusher executor that never writes a second serving version of one model."""

    def Do(self, input_dict: Dict[str, List[types.Artifact]],
           output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        model = artifact_utils.get_single_instance(
            input_dict[standard_component_specs.MODEL_KEY])
        base_directory = _base_directory(exec_properties)
        if base_directory and self.CheckBlessing(input_dict):
            version = pushed_version_of(base_directory, model.uri)
            if version is not None:
                push = artifact_utils.get_single_instance(
                    output_dict[standard_component_specs.PUSHED_MODEL_KEY])
                push.set_int_custom_property(contract.PUSHED_PROPERTY, 0)
                push.set_string_custom_property(ALREADY_PUSHED_PROPERTY, version)
                push.set_string_custom_property(contract.PUSHED_DESTINATION_PROPERTY,
                                                os.path.join(base_directory, version))
                return
        super().Do(input_dict, output_dict, exec_properties)
        push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if base_directory and push.get_int_custom_property(contract.PUSHED_PROPERTY) == 1:
            version = push.get_string_custom_property(contract.PUSHED_VERSION_PROPERTY)
            folder = os.path.join(base_directory, SOURCES_FOLDER)
            fileio.makedirs(folder)
            with fileio.open(os.path.join(folder, f"{version}.json"), "w") as f:
                f.write(json.dumps({"version": version, "model_uri": model.uri}))
