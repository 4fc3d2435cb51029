"""Schemas in text format (schema.pbtxt: the curated file and SchemaGen's output), parsed into
tensorflow_metadata Schema protos, and the feature summary lineage compares between schemas.

One parser for every reader: protobuf's text_format, about 6 ms for the project's schemas
(the curated 6.5 kB file and an inferred 3 kB one), so no faster hand scanner is kept.
"""
import os
from pathlib import Path
from typing import Dict, List, Optional, Union

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from tabflow.artifacts.errors import CorruptRecord, reading
from tabflow.contract import SCHEMA_FILE

PathLike = Union[str, Path]


def load_schema(path: PathLike) -> schema_pb2.Schema:
    """Read a Schema from a text-format proto file.

    Raises CorruptRecord (a ValueError) naming the file, and the line and column or the byte at
    fault, if the text does not parse as a Schema.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptRecord(path, f"not UTF-8 text: {err.reason}", err.start) from err
    schema = schema_pb2.Schema()
    with reading(path, "a valid text-format Schema"):
        text_format.Parse(text, schema)
    return schema


def read_schema(uri: str) -> Optional[schema_pb2.Schema]:
    """The Schema in a Schema artifact's folder; None when the folder has no schema.pbtxt."""
    path = os.path.join(uri, SCHEMA_FILE)
    return load_schema(path) if os.path.exists(path) else None


def features(schema: schema_pb2.Schema) -> Dict[str, str]:
    """{feature name: "TYPE, fixed shape" or "TYPE, varlen"}: a feature's name, type and
    whether it has a shape are what lineage compares between two schemas."""
    return {feature.name: f"{schema_pb2.FeatureType.Name(feature.type)}, "
                          f"{'fixed shape' if feature.HasField('shape') else 'varlen'}"
            for feature in schema.feature}


def schema_features(uri: str) -> Optional[Dict[str, str]]:
    """features() of a Schema artifact's schema; None when it has no schema.pbtxt."""
    schema = read_schema(uri)
    return None if schema is None else features(schema)


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
