"""TFRecord files (TFMA writes its metrics, plots and validation result as uncompressed
TFRecords), read without TensorFlow.

Each record is: uint64 length, uint32 masked crc32c(length), data, uint32 masked crc32c(data),
all little-endian. Both checksums of every record are checked (google_crc32c computes the CRC in
C, so checking a whole file costs less than parsing it), so a truncated or corrupted file raises
CorruptRecord naming the file instead of returning garbage protos.
"""
import struct
from typing import Iterator

import google_crc32c

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


class CorruptRecord(ValueError):
    """An artifact file that cannot be read as what it should hold; the message names it."""


def masked_crc(data: bytes) -> int:
    """crc32c of `data`, masked as TFRecord stores it (rotated right by 15, plus a constant)."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(path: str) -> Iterator[bytes]:
    """Every record's data, in file order, after checking its length and data checksums."""
    with open(path, "rb") as f:
        while True:
            header = f.read(_HEADER.size)
            if not header:
                return
            if len(header) < _HEADER.size:
                raise CorruptRecord(f"{path}: truncated record header")
            length, length_crc = _HEADER.unpack(header)
            if masked_crc(header[:8]) != length_crc:
                raise CorruptRecord(f"{path}: bad length checksum")
            data = f.read(length)
            footer = f.read(_FOOTER.size)
            if len(data) < length or len(footer) < _FOOTER.size:
                raise CorruptRecord(f"{path}: truncated record")
            if masked_crc(data) != _FOOTER.unpack(footer)[0]:
                raise CorruptRecord(f"{path}: bad data checksum")
            yield data
