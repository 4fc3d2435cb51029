"""The whole-file half of the data gate: what a span's CSV files must be before CsvExampleGen
reads them.

CsvExampleGen (TFX 1.16) takes the header as the first line split on commas (no unquoting),
reads every file of a span with the FIRST file's header, decodes each following line as UTF-8,
joins lines while a quoted field is open, skips blank lines and fails on a row whose field
count differs from the header's, naming neither file nor line. A file it can read can still be
wrong for the pipeline: an empty or header-only file, a repeated column name, a byte-order mark
glued to the first column name. Each check here mirrors that reading and reports every problem
as one line "<file>[:<line>]: <what is wrong>", with the file named relative to data_root.

Span folders: CsvExampleGen globs span-*/*.csv and reads int() of whatever the `*` matched as
the span number, so span-03, span-+3, 'span-3 ' and span-\u0663 are all span 3 to it and
span-1e3 makes it fail. Only folders named span-<N> (N in plain decimal, no sign, no leading
zero) are spans here; any other span-* folder is a problem, and so are two folders TFX would
read as the same span.

Bounded: whatever a file holds, the check keeps at most a chunk, one line and one record of
MAX_LINE_BYTES in memory and reads each byte once. A longer line or a quoted field still open
after MAX_LINE_BYTES is reported, not accumulated (the csv module alone would gather the rest
of the file into one field), and a failure message lists at most MAX_LISTED problems.

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
# Problems a failure message lists before it counts the rest.
MAX_LISTED = 20
# This pipeline's rows are a few hundred bytes: a line (or a record of lines joined while a
# quoted field is open) past this is a missing line break or an unclosed quote, and is reported
# instead of being held in memory.
MAX_LINE_BYTES = 1 << 20
# A header of more columns is no table this pipeline reads (a line of commas, say): it is
# reported as one problem, not one per column.
MAX_COLUMNS = 10_000

_CHUNK = 1 << 20
# Binary data is named from the file's first bytes, before its header is compared with the
# schema: a NUL byte there, or more than _BINARY_SHARE of control or non-UTF-8 bytes.
_SNIFF = 1 << 16
_BINARY_SHARE = 0.25
_TEXT_CONTROLS = "\t\n\r\f\v"

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

# CsvExampleGen's span-{SPAN} becomes the glob span-* (tfx/components/example_gen/utils.py);
# a span folder is named span-<N>, N in ASCII decimal without sign or leading zero.
SPAN_GLOB = "span-*"
_SPAN_PREFIX = "span-"
_CANONICAL_SPAN = re.compile(r"span-(0|[1-9][0-9]*)")
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


def _lines(head: bytes, stream: BinaryIO) -> Iterator[Optional[bytes]]:
    """Lines with their terminator, split on b"\\n" as CsvExampleGen's file reader does; None
    for a line longer than MAX_LINE_BYTES, which is skipped to its end, never held whole."""
    pending = bytearray()
    overlong = False
    block = head
    while block:
        start = 0
        end = block.find(b"\n")
        while end >= 0:
            if overlong or len(pending) + end + 1 - start > MAX_LINE_BYTES:
                yield None
            else:
                yield bytes(pending) + block[start:end + 1]
            pending.clear()
            overlong = False
            start = end + 1
            end = block.find(b"\n", start)
        if not overlong:
            if len(pending) + len(block) - start > MAX_LINE_BYTES:
                overlong = True
                pending.clear()
            else:
                pending += block[start:]
        block = stream.read(_CHUNK)
    if overlong:
        yield None
    elif pending:
        yield bytes(pending)


def _binary(head: bytes) -> Optional[Tuple[str, Optional[int]]]:
    """(what is wrong, line) when the file's first bytes are binary data, else None."""
    sniff = head[:_SNIFF]
    nul = sniff.find(b"\x00")
    if nul >= 0:
        return "NUL bytes: binary data, not CSV text", sniff.count(b"\n", 0, nul) + 1
    text = sniff.decode("utf-8", "replace")
    odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in _TEXT_CONTROLS))
    if odd > _BINARY_SHARE * len(text):
        return (f"binary data, not CSV text ({odd} of the first {len(text)} characters are "
                f"control or non-UTF-8 bytes)"), None
    return None


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
    binary = _binary(head)
    if binary:
        problem(*binary)
        return check

    first_line = head.split(b"\n", 1)[0]
    if b"\r" in first_line.rstrip(b"\r"):
        problem("lines end with a carriage return alone (classic Mac line endings); "
                "CsvExampleGen splits lines on line feeds: save the file with LF or CRLF "
                "line endings", 1)
        return check

    lines = _lines(head, stream)
    header_line = next(lines)
    if header_line is None:
        problem(f"the first line is longer than {MAX_LINE_BYTES:,} bytes: no header (a file "
                f"without line breaks?)", 1)
        return check
    text, wrong = _decode(header_line)
    if wrong:
        problem(wrong, 1)
        return check
    if not text.strip():
        problem("the first line is blank; it must be the header", 1)
        return check
    names = text.strip().split(",")
    if len(names) > MAX_COLUMNS:
        unnamed = sum(1 for n in names if not n.strip())
        problem(f"the header has {len(names):,} columns ({unnamed:,} of them without a name); "
                f"more than {MAX_COLUMNS:,} is no table this pipeline reads", 1)
        return check
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

    # Like CsvExampleGen: a record is one line, or several while a quoted field is open. The
    # csv module parses one record at a time, so it never sees more than MAX_LINE_BYTES.
    reader_line, record, quotes, size = 0, [], 0, 0
    line_no = 1
    for line_no, raw in enumerate(lines, 2):
        if raw is None or size + len(raw) > MAX_LINE_BYTES:
            if record:
                row_problem(f"a quoted field opened here is still open {MAX_LINE_BYTES:,} bytes "
                            f"later (an unclosed quote?); CsvExampleGen would read everything "
                            f"up to the next quote as one field", reader_line)
                record = []
                break
            row_problem(f"line longer than {MAX_LINE_BYTES:,} bytes (a missing line break?)",
                        line_no)
            continue
        text, wrong = _decode(raw)
        if wrong:
            row_problem(wrong, line_no)
            if "binary" in wrong:
                break
            continue
        if not record:
            reader_line = line_no
        record.append(text)
        size += len(raw)
        quotes += text.count('"')
        if quotes % 2:
            continue
        joined = "".join(record)
        record, quotes, size = [], 0, 0
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


@dataclass
class SpanFolders:
    """The span-* folders under a data root: `listed` maps each folder's name to its file
    names, `spans` each canonical span-<N>'s number to its file names, and `problems` names
    every other span-* folder and every span two folders claim."""
    listed: Dict[str, List[str]]
    spans: Dict[int, List[str]]
    problems: List[str]


def tfx_span_number(suffix: str) -> Optional[int]:
    """The span CsvExampleGen reads from folder span-<suffix>, None where it fails.

    TFX 1.16 captures the suffix with the regex `.*` (no newline) and calls int() on it, which
    takes a sign, surrounding whitespace, underscores between digits and any Unicode digits."""
    if "\n" in suffix:
        return None
    try:
        return int(suffix)
    except ValueError:
        return None


def _shown(folder: str) -> str:
    plain = folder.isascii() and folder.isprintable() and " " not in folder
    return f"{folder}/" if plain else f"{folder!r}/"


def sort_span_folders(listed: Dict[str, List[str]]) -> SpanFolders:
    """Sort `listed` (every folder under the data root matching SPAN_GLOB, with its file names)
    into canonical spans and problems."""
    spans: Dict[int, List[str]] = {}
    claims: Dict[int, List[str]] = {}
    problems = []
    for folder in sorted(listed):
        canonical = _CANONICAL_SPAN.fullmatch(folder)
        if canonical:
            spans[int(canonical.group(1))] = listed[folder]
        number = tfx_span_number(folder[len(_SPAN_PREFIX):])
        if number is not None and number >= 0:
            claims.setdefault(number, []).append(folder)
        elif number is not None:
            problems.append(f"{_shown(folder)}: CsvExampleGen reads it as span {number}; span "
                            f"numbers are 0, 1, 2, ...: rename the folder")
        else:
            reads = (" and would fail on its CSV files" if csv_names(listed[folder]) else "")
            problems.append(f"{_shown(folder)}: {folder[len(_SPAN_PREFIX):]!r} is not a span "
                            f"number, yet CsvExampleGen's span-{{SPAN}} pattern matches the "
                            f"folder{reads}; name span folders span-<N> or move it out of the "
                            f"data root")
    for number, folders in sorted(claims.items()):
        if len(folders) > 1:
            which = "both" if len(folders) == 2 else f"all {len(folders)}"
            problems.append(f"{' and '.join(map(_shown, folders))}: {which} are span {number} "
                            f"to CsvExampleGen, which would read only one of them; keep one "
                            f"folder, named span-{number}")
        elif folders[0] != f"{_SPAN_PREFIX}{number}":
            problems.append(f"{_shown(folders[0])}: not a span folder name; CsvExampleGen "
                            f"reads it as span {number}: rename it span-{number}")
    return SpanFolders(listed, spans, problems)


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
    listed = list(problems[:MAX_LISTED])
    if len(problems) > MAX_LISTED:
        more = len(problems) - MAX_LISTED
        listed.append(f"and {more} more problem{'' if more == 1 else 's'}")
    return (f"CSV check of {where} found {count}; CsvExampleGen, Transform, Tuner and Trainer "
            f"will not run:\n  - " + "\n  - ".join(listed))
