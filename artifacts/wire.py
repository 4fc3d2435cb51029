"""The protobuf wire format, walked field by field.

For messages whose generated module cannot be imported cheaply (TFMA's ValidationResult module
imports the tensorflow_model_analysis package, hence TensorFlow): the readers take the fields
they need from the wire and parse the sub-messages they can with lighter proto modules.
"""
from typing import Iterator, Tuple, Union

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


def _varint(data: bytes, index: int) -> Tuple[int, int]:
    result, shift = 0, 0
    while True:
        if index >= len(data):
            raise ValueError("truncated protobuf message: varint runs past the end")
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, index
        shift += 7


_FIXED_SIZE = {FIXED64: 8, FIXED32: 4}


def fields(data: bytes) -> Iterator[Tuple[int, int, Union[int, bytes]]]:
    """(field number, wire type, value) for each top-level field, in wire order.

    value is an int for varints, the raw bytes otherwise (a sub-message, string or packed field
    for length-delimited fields; little-endian bytes for fixed32/fixed64). Raises ValueError on
    a truncated message or a group (wire types 3 and 4, unused by proto3).
    """
    index = 0
    while index < len(data):
        tag, index = _varint(data, index)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == VARINT:
            value, index = _varint(data, index)
        else:
            if wire_type == LENGTH_DELIMITED:
                size, index = _varint(data, index)
            elif wire_type in _FIXED_SIZE:
                size = _FIXED_SIZE[wire_type]
            else:
                raise ValueError(f"unsupported protobuf wire type {wire_type}")
            if index + size > len(data):
                raise ValueError(f"truncated protobuf message: field {number} runs past the end")
            value, index = data[index:index + size], index + size
        yield number, wire_type, value


def varint_field(data: bytes, number: int) -> int:
    """A top-level varint field's value; 0 (proto3's default) when absent. As in protobuf's own
    parsers, the last occurrence wins."""
    found = 0
    for field_number, wire_type, value in fields(data):
        if field_number == number and wire_type == VARINT:
            found = value
    return found
