"""A pure-Python TFRecord reader (TFMA writes its metrics as uncompressed TFRecord files).

Each record is: uint64 length, uint32 masked crc32c(length), data, uint32 masked crc32c(data),
all little-endian. Checking both CRCs catches truncated or corrupted files instead of
returning garbage protos.
"""
import struct
from typing import Iterator, Tuple

_CRC32C_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


class CorruptRecord(ValueError):
    pass


def iter_records(path: str) -> Iterator[Tuple[bytes, int]]:
    """(data, its stored masked crc) per record; headers are checked, data is not.

    Pure-Python CRC costs about a microsecond a byte, so callers verify (with `verify`) only
    the records they use: TFMA's metrics file holds every slice, a query needs one.
    """
    with open(path, "rb") as f:
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise CorruptRecord(f"{path}: truncated record header")
            length, length_crc = struct.unpack("<QI", header)
            if masked_crc(header[:8]) != length_crc:
                raise CorruptRecord(f"{path}: bad length checksum")
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise CorruptRecord(f"{path}: truncated record")
            yield data, struct.unpack("<I", footer)[0]


def verify(data: bytes, stored_crc: int, path: str) -> bytes:
    if masked_crc(data) != stored_crc:
        raise CorruptRecord(f"{path}: bad data checksum")
    return data


def read_records(path: str) -> Iterator[bytes]:
    """Every record, each checked against its data checksum."""
    for data, stored_crc in iter_records(path):
        yield verify(data, stored_crc, path)
