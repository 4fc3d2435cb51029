"""TFRecord files (TFMA writes its metrics, plots and validation result as uncompressed
TFRecords), read without TensorFlow.

Each record is: uint64 length, uint32 masked crc32c(length), data, uint32 masked crc32c(data),
all little-endian. Both checksums of every record are checked (google_crc32c computes the CRC in
C, so checking a whole file costs less than parsing it), so a truncated or corrupted file raises
CorruptRecord naming the file and the record's offset instead of returning garbage protos.
A length is checked against the bytes the file has left before anything is read for it, so a
damaged or crafted length never makes the reader allocate more than the file's size.
"""
import os
import struct
from typing import Iterator, Tuple

import google_crc32c

from tabflow.artifacts.errors import CorruptRecord

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


def masked_crc(data: bytes) -> int:
    """crc32c of `data`, masked as TFRecord stores it (rotated right by 15, plus a constant)."""
    crc = google_crc32c.value(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(path: str) -> Iterator[Tuple[int, bytes]]:
    """(offset of the record in the file, its data) for every record, in file order, after
    checking its length and data checksums."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while True:
            header = f.read(_HEADER.size)
            if not header:
                return
            if len(header) < _HEADER.size:
                raise CorruptRecord(path, "truncated record header", offset)
            length, length_crc = _HEADER.unpack(header)
            if masked_crc(header[:8]) != length_crc:
                raise CorruptRecord(path, "bad length checksum", offset)
            left = size - offset - _HEADER.size - _FOOTER.size
            if length > left:
                raise CorruptRecord(path, f"truncated record: its length says {length} bytes, "
                                          f"the file has {max(left, 0)} left", offset)
            data = f.read(length)
            footer = f.read(_FOOTER.size)
            if len(data) < length or len(footer) < _FOOTER.size:  # the file shrank meanwhile
                raise CorruptRecord(path, "truncated record", offset)
            if masked_crc(data) != _FOOTER.unpack(footer)[0]:
                raise CorruptRecord(path, "bad data checksum", offset)
            yield offset, data
            offset += _HEADER.size + length + _FOOTER.size
