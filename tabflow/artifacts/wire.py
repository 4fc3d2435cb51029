"""The protobuf wire format, walked field by field.

For messages whose generated module cannot be imported cheaply (TFMA's ValidationResult module
imports the tensorflow_model_analysis package, hence TensorFlow): the readers take the fields
they need from the wire and parse the sub-messages they can with lighter proto modules.

Malformed input raises ValueError naming the byte at fault, with protobuf's own limits: a varint
is at most 10 bytes and 64 bits, field numbers are 1 to 2**29 - 1, a length never runs past the
end of its message.
"""
from typing import Iterator, Tuple, Union

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5

_MAX_VARINT_BYTES = 10
_MAX_FIELD_NUMBER = (1 << 29) - 1


def _varint(data: bytes, index: int) -> Tuple[int, int]:
    start, result = index, 0
    for shift in range(0, 7 * _MAX_VARINT_BYTES, 7):
        if index >= len(data):
            raise ValueError(f"truncated protobuf message: the varint at byte {start} runs "
                             "past the end")
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >> 64:
                raise ValueError(f"the varint at byte {start} is over 64 bits")
            return result, index
    raise ValueError(f"the varint at byte {start} is longer than {_MAX_VARINT_BYTES} bytes")


_FIXED_SIZE = {FIXED64: 8, FIXED32: 4}


def fields(data: bytes) -> Iterator[Tuple[int, int, Union[int, bytes]]]:
    """(field number, wire type, value) for each top-level field, in wire order.

    value is an int for varints, the raw bytes otherwise (a sub-message, string or packed field
    for length-delimited fields; little-endian bytes for fixed32/fixed64). Raises ValueError on
    a malformed or truncated message or a group (wire types 3 and 4, unused by proto3).
    """
    index = 0
    while index < len(data):
        start = index
        tag, index = _varint(data, index)
        number, wire_type = tag >> 3, tag & 7
        if not 1 <= number <= _MAX_FIELD_NUMBER:
            raise ValueError(f"invalid protobuf field number {number} at byte {start}")
        if wire_type == VARINT:
            value, index = _varint(data, index)
        else:
            if wire_type == LENGTH_DELIMITED:
                size, index = _varint(data, index)
            elif wire_type in _FIXED_SIZE:
                size = _FIXED_SIZE[wire_type]
            else:
                raise ValueError(f"unsupported protobuf wire type {wire_type} at byte {start}")
            if size > len(data) - index:
                raise ValueError(f"truncated protobuf message: field {number} at byte {start} "
                                 f"claims {size} bytes, {len(data) - index} are left")
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
