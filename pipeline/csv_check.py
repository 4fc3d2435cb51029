"""The whole-file half of the data gate: what a span's CSV files must be before CsvExampleGen
reads them.

CsvExampleGen (TFX 1.16) takes the header as the first line split on commas (no unquoting),
reads every file of a span with the FIRST file's header, decodes each following line as UTF-8,
joins lines while a quoted field is open, skips blank lines and fails on a row whose field
count differs from the header's, naming neither file nor line. A file it can read can still be
wrong for the pipeline: an empty or header-only file, a repeated column name, a byte-order mark
glued to the first column name. Each check here mirrors that reading and reports every problem
as one line "<file>[:<line>]: <what is wrong>", with the file named relative to data_root.

Pure Python over byte streams, no TFX or TensorFlow import: the CsvCheck component
(pipeline/components.py) feeds it files read through TFX's fileio, unit tests feed it bytes.
"""
import csv
import fnmatch
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Dict, Iterator, List, Optional, Sequence, Tuple

# Row-level problems listed per file before the rest are counted: a file with thousands of
# ragged rows gives a readable message, not thousands of lines.
MAX_ROW_PROBLEMS = 5

_CHUNK = 1 << 20

# Leading bytes of formats that are not plain text, whatever the file is called.
_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"PK\x03\x04", "a zip archive (or an .xlsx workbook)"),
    (b"\xd0\xcf\x11\xe0", "an OLE document (an .xls workbook?)"),
    (b"PAR1", "a Parquet file"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_OTHER_DELIMITERS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))

SPAN_FOLDER = re.compile(r"^span-(\d+)/?$")
CSV_GLOB = "*.csv"


@dataclass
class FileCheck:
    """What one file looked like: its header as CsvExampleGen reads it (None when there is
    none), its data rows, and every problem found."""
    name: str
    header: Optional[List[str]] = None
    rows: int = 0
    crlf: bool = False
    problems: List[str] = field(default_factory=list)


def _lines(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """Lines with their terminator, split on b"\\n" as CsvExampleGen's file reader does."""
    pending = head
    while True:
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
        block = stream.read(_CHUNK)
        if not block:
            break
        pending += block
    if pending:
        yield pending


def _decode(line: bytes) -> Tuple[Optional[str], Optional[str]]:
    """(text, None) or (None, what is wrong)."""
    if b"\x00" in line:
        return None, "NUL bytes: binary data, not CSV text"
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return None, (f"not UTF-8 text (byte 0x{line[e.start]:02x} at column {e.start + 1}); "
                      f"save the file as UTF-8")


def header_problems(names: Sequence[str], expected: Optional[Sequence[str]]) -> List[str]:
    """Problems of a header (as CsvExampleGen splits it), without the file prefix.

    `expected`: the columns the curated schema requires, in any order (None: not compared)."""
    problems = []
    flagged = set()
    positions: Dict[str, List[int]] = {}
    for i, name in enumerate(names, 1):
        positions.setdefault(name, []).append(i)
        if not name.strip():
            problems.append(f"column {i} has no name")
            flagged.add(name)
        elif name != name.strip():
            problems.append(f"column {i} name {name!r} has leading or trailing spaces")
            flagged.add(name)
        elif name.startswith('"') or name.endswith('"'):
            problems.append(f"column {i} name {name!r} is quoted; CsvExampleGen does not "
                            f"unquote header names")
            flagged.add(name)
    for name, where in positions.items():
        if len(where) > 1 and name.strip():
            problems.append(f"column {name!r} appears {len(where)} times (columns "
                            f"{', '.join(map(str, where))})")
    folded: Dict[str, List[str]] = {}
    for name in positions:
        folded.setdefault(name.strip().strip('"').lower(), []).append(name)
    for variants in folded.values():
        if len(variants) > 1:
            problems.append("columns " + " and ".join(
                f"{v!r} (column {positions[v][0]})" for v in variants)
                + " differ only in case, spaces or quotes")
            flagged.update(variants)
    if expected is not None:
        missing = [c for c in expected if c not in positions]
        extra = [n for n in positions if n not in expected and n not in flagged]
        renamed = len(missing) == 1 and len(extra) == 1
        for name in extra:
            hint = f" (renamed from {missing[0]!r}?)" if renamed else ""
            problems.append(f"column {name!r} (column {positions[name][0]}) is not in the "
                            f"curated schema{hint}")
        for name in missing:
            problems.append(f"column {name!r} required by the curated schema is missing")
    return problems


def check_file(name: str, stream: BinaryIO,
               expected: Optional[Sequence[str]] = None) -> FileCheck:
    """Read one CSV file the way CsvExampleGen does and report what would go wrong.

    `name` prefixes every problem (the path relative to data_root); `expected` are the
    curated schema's columns (any order)."""
    check = FileCheck(name)

    def problem(text: str, line: Optional[int] = None) -> None:
        check.problems.append(f"{name}:{line}: {text}" if line else f"{name}: {text}")

    head = stream.read(_CHUNK)
    if not head:
        problem("empty file (0 bytes)")
        return check
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            problem(f"{kind}, not CSV text; CsvExampleGen reads plain text whatever the "
                    f"file is called")
            return check
    if head.startswith(_UTF16_BOMS):
        problem("UTF-16 text (byte-order mark at the start); save the file as UTF-8")
        return check
    if head.startswith(_UTF8_BOM):
        problem("starts with a UTF-8 byte-order mark, which CsvExampleGen would read as part "
                "of the first column's name; save the file as UTF-8 without BOM", 1)
        head = head[len(_UTF8_BOM):]

    first_line = head.split(b"\n", 1)[0]
    if b"\r" in first_line.rstrip(b"\r"):
        problem("lines end with a carriage return alone (classic Mac line endings); "
                "CsvExampleGen splits lines on line feeds: save the file with LF or CRLF "
                "line endings", 1)
        return check

    lines = _lines(head, stream)
    header_line = next(lines)
    text, wrong = _decode(header_line)
    if wrong:
        problem(wrong, 1)
        return check
    if not text.strip():
        problem("the first line is blank; it must be the header", 1)
        return check
    names = text.strip().split(",")
    if len(names) == 1:
        for delimiter, label in _OTHER_DELIMITERS:
            if delimiter in text:
                problem(f"the header is one column containing {label}s: the file looks "
                        f"{label}-separated; CsvExampleGen reads comma-separated values", 1)
                return check
    check.header = names
    check.crlf = header_line.endswith(b"\r\n")
    for text in header_problems(names, expected):
        problem(text, 1)

    row_problems = 0

    def row_problem(text: str, line: int) -> None:
        nonlocal row_problems
        row_problems += 1
        if row_problems <= MAX_ROW_PROBLEMS:
            problem(text, line)

    # Like CsvExampleGen: a record is one line, or several while a quoted field is open.
    reader_line, record, quotes = 0, [], 0
    line_no = 1
    for line_no, raw in enumerate(lines, 2):
        text, wrong = _decode(raw)
        if wrong:
            row_problem(wrong, line_no)
            if "binary" in wrong:
                break
            continue
        if not record:
            reader_line = line_no
        record.append(text)
        quotes += text.count('"')
        if quotes % 2:
            continue
        joined = "".join(record)
        record, quotes = [], 0
        try:
            fields = next(csv.reader([joined], delimiter=","), [])
        except csv.Error as e:
            row_problem(f"CSV parse error: {e}", reader_line)
            continue
        if not fields:
            continue  # blank line: CsvExampleGen skips it
        if len(fields) != len(names):
            cut = "" if joined.endswith("\n") else " (the file ends mid-row: truncated?)"
            row_problem(f"{len(fields)} fields, the header has {len(names)}{cut}", reader_line)
            continue
        check.rows += 1
    if record:
        row_problem("a quoted field opened here is never closed (truncated file?)",
                    reader_line)
    if row_problems > MAX_ROW_PROBLEMS:
        problem(f"{row_problems - MAX_ROW_PROBLEMS} more rows with problems "
                f"(the first {MAX_ROW_PROBLEMS} are listed)")
    if check.rows == 0 and not row_problems:
        problem("no data rows (header only)" if line_no == 1 else
                "no data rows (only blank lines after the header)")
    return check


def span_header_problems(checks: Sequence[FileCheck]) -> List[str]:
    """Files of one span whose header differs from the first file's: CsvExampleGen reads them
    all with the first file's header, so even the same columns in another order would be
    mixed up. `checks` in the order CsvExampleGen lists the files."""
    readable = [c for c in checks if c.header is not None]
    if len(readable) < 2:
        return []
    first = readable[0]
    problems = []
    for other in readable[1:]:
        if other.header == first.header:
            continue
        if sorted(other.header) == sorted(first.header):
            what = "the same columns in another order"
        else:
            missing = [c for c in first.header if c not in other.header]
            extra = [c for c in other.header if c not in first.header]
            what = "; ".join(filter(None, [
                missing and "no " + ", ".join(map(repr, missing)),
                extra and "extra " + ", ".join(map(repr, extra))])) or "other columns"
        problems.append(f"{other.name}:1: header differs from {first.name}'s ({what}); "
                        f"CsvExampleGen reads every file of a span with the first file's "
                        f"header")
    return problems


def resolve_span(folders: Dict[int, List[str]], requested: int) -> Tuple[Optional[int], List[str]]:
    """The span CsvExampleGen will read and the problems of the span folders.

    `folders`: span number -> names of the files in span-<N>/; `requested`: 0 for the latest
    span with a CSV file (CsvExampleGen's rule for span-{SPAN}/*.csv), else that span.
    A span folder newer than the one read that holds no CSV file is a problem too: without
    this check ExampleGen would silently train on the older span.
    """
    def has_csv(n: int) -> bool:
        return any(fnmatch.fnmatchcase(f, CSV_GLOB) for f in folders.get(n, []))

    def holds(n: int) -> str:
        files = sorted(folders[n])
        return f"holds {', '.join(files[:5])}{', ...' if len(files) > 5 else ''}" \
            if files else "is empty"

    if requested:
        if has_csv(requested):
            return requested, []
        if requested in folders:
            return None, [f"span-{requested}/: no {CSV_GLOB} file ({holds(requested)})"]
        return None, [f"span-{requested}/: no such folder (span folders: "
                      f"{', '.join(f'span-{n}' for n in sorted(folders)) or 'none'})"]
    with_csv = [n for n in folders if has_csv(n)]
    latest = max(with_csv) if with_csv else None
    problems = [f"span-{n}/: no {CSV_GLOB} file ({holds(n)}); it is newer than "
                + (f"span-{latest}, which CsvExampleGen would read instead" if latest
                   else "any span with a CSV file")
                for n in sorted(folders) if latest is None or n > latest]
    if not folders:
        problems.append(f"no span-<N>/ folder with a {CSV_GLOB} file")
    return (None if problems else latest), problems


def csv_names(files: Sequence[str]) -> List[str]:
    """The file names CsvExampleGen's pattern matches, in its (sorted) order."""
    return sorted(f for f in files if fnmatch.fnmatchcase(f, CSV_GLOB))


def failure_message(data_root: str, span: Optional[int], problems: Sequence[str]) -> str:
    where = f"span {span} under {data_root}" if span else data_root
    count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
    return (f"CSV check of {where} found {count}; CsvExampleGen, Transform, Tuner and Trainer "
            f"will not run:\n  - " + "\n  - ".join(problems))
