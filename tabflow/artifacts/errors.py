"""The one error every artifact reader raises for a file that cannot be read as what it should
hold (a damaged TFRecord frame, a payload that is not the protobuf it should be, JSON or text that
does not parse), so callers catch one thing and users read one line naming the file."""
import struct
from contextlib import contextmanager
from typing import Optional

from google.protobuf import text_format
from google.protobuf.message import DecodeError


class CorruptRecord(ValueError):
    """An artifact file that cannot be read as what it should hold. The message names the file
    and, where the reader knows it, the byte offset of the record at fault."""

    def __init__(self, path, why: str, offset: Optional[int] = None):
        where = "" if offset is None else f" (corrupt record at byte {offset})"
        super().__init__(f"{path}: {why}{where}")
        self.path, self.why, self.offset = str(path), why, offset


# What crafted bytes make parsing code raise: protobuf's DecodeError and ParseError, the wire
# reader's and the codecs' ValueErrors (UnicodeDecodeError, JSONDecodeError), Python's errors on
# bad indices, packing and sizes, and nesting deeper than the parser's stack.
PARSE_ERRORS = (DecodeError, text_format.ParseError, ValueError, IndexError, struct.error,
                OverflowError, MemoryError, RecursionError)


@contextmanager
def reading(path, what: str, offset: Optional[int] = None):
    """Inside the block, a parse error becomes CorruptRecord(path, "not <what>: <error>",
    offset); a CorruptRecord passes unchanged."""
    try:
        yield
    except CorruptRecord:
        raise
    except RecursionError as e:
        raise CorruptRecord(path, f"not {what}: nested deeper than the parser's stack",
                            offset) from e
    except PARSE_ERRORS as e:
        raise CorruptRecord(path, f"not {what}: {str(e) or type(e).__name__}", offset) from e
