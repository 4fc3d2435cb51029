"""The CSV check (pipeline/csv_check.py) on small files: every whole-file problem CsvExampleGen
would choke on or silently accept is named with its file and line; good files pass."""
import gzip
import io
import os
from pathlib import Path

import pytest

from pipeline import csv_check

REPO = Path(__file__).resolve().parents[3]
DATASETS = sorted(p.parent for p in (REPO / "data").glob("*/dataset.yaml"))

COLUMNS = ["amount", "duration", "kind"]
GOOD = b"amount,duration,kind\n10.0,2.0,blue\n12.5,0.0,dark red\n"


def check(data: bytes, expected=COLUMNS, name="span-1/data.csv"):
    return csv_check.check_file(name, io.BytesIO(data), expected)


def problems(data: bytes, expected=COLUMNS):
    return check(data, expected).problems


def test_good_file_passes_with_its_rows_and_header():
    result = check(GOOD)
    assert result.problems == []
    assert result.header == COLUMNS and result.rows == 2 and not result.crlf


def test_crlf_line_endings_pass():
    result = check(GOOD.replace(b"\n", b"\r\n"))
    assert result.problems == [] and result.rows == 2 and result.crlf


def test_reordered_columns_pass():
    assert problems(b"kind,amount,duration\nblue,10.0,2.0\n") == []


def test_blank_lines_and_no_final_newline_pass():
    assert check(GOOD + b"\n\n13.0,1.0,blue").rows == 3
    assert check(GOOD + b"\n\n13.0,1.0,blue").problems == []


def test_quoted_fields_with_commas_and_newlines_pass():
    data = b'amount,duration,kind\n10.0,2.0,"dark, red"\n11.0,1.0,"two\nlines"\n'
    result = check(data)
    assert result.problems == [] and result.rows == 2


def test_empty_file():
    assert problems(b"") == ["span-1/data.csv: empty file (0 bytes)"]


def test_header_only():
    assert problems(b"amount,duration,kind\n") == ["span-1/data.csv: no data rows (header only)"]
    assert problems(b"amount,duration,kind") == ["span-1/data.csv: no data rows (header only)"]
    assert problems(b"amount,duration,kind\n\n\n") == [
        "span-1/data.csv: no data rows (only blank lines after the header)"]


def test_blank_first_line():
    assert problems(b"\n" + GOOD) == [
        "span-1/data.csv:1: the first line is blank; it must be the header"]


def test_duplicate_header_names_the_column_and_positions():
    data = b"amount,duration,kind,amount\n1,2,blue,3\n"
    assert problems(data) == ["span-1/data.csv:1: column 'amount' appears 2 times (columns 1, 4)"]


def test_ambiguous_header_names_both_columns():
    data = b"amount,duration,kind,Amount\n1,2,blue,3\n"
    [line] = problems(data)
    assert line.startswith("span-1/data.csv:1: columns 'amount' (column 1) and 'Amount' (column 4)")
    assert "differ only in case" in line


def test_spaces_quotes_and_nameless_columns_in_the_header():
    data = b'amount, duration,"kind",\n1,2,blue,\n'
    found = problems(data)
    assert "span-1/data.csv:1: column 2 name ' duration' has leading or trailing spaces" in found
    assert any("column 3 name '\"kind\"' is quoted" in p for p in found)
    assert "span-1/data.csv:1: column 4 has no name" in found
    assert "span-1/data.csv:1: column 'duration' required by the curated schema is missing" in found


def test_missing_extra_and_renamed_columns():
    assert problems(b"amount,kind\n1,blue\n") == [
        "span-1/data.csv:1: column 'duration' required by the curated schema is missing"]
    assert problems(b"amount,duration,kind,rating\n1,2,blue,5\n") == [
        "span-1/data.csv:1: column 'rating' (column 4) is not in the curated schema"]
    assert problems(b"amount_usd,duration,kind\n1,2,blue\n") == [
        "span-1/data.csv:1: column 'amount_usd' (column 1) is not in the curated schema "
        "(renamed from 'amount'?)",
        "span-1/data.csv:1: column 'amount' required by the curated schema is missing"]


def test_ragged_rows_name_each_line():
    data = GOOD + b"1.0,2.0\n3.0,4.0,blue,extra\n"
    assert problems(data) == ["span-1/data.csv:4: 2 fields, the header has 3",
                              "span-1/data.csv:5: 4 fields, the header has 3"]


def test_many_ragged_rows_are_counted_not_all_listed():
    data = b"amount,duration,kind\n" + b"1.0,2.0\n" * 12
    found = problems(data)
    assert len(found) == csv_check.MAX_ROW_PROBLEMS + 1
    assert found[0] == "span-1/data.csv:2: 2 fields, the header has 3"
    assert found[-1] == "span-1/data.csv: 7 more rows with problems (the first 5 are listed)"


def test_truncated_file_names_the_last_line():
    data = GOOD + b"13.0,1"
    assert problems(data) == [
        "span-1/data.csv:4: 2 fields, the header has 3 (the file ends mid-row: truncated?)"]


def test_unclosed_quote_names_the_line_it_opens():
    data = GOOD + b'13.0,1.0,"blue\n14.0,1.0,blue\n'
    assert problems(data) == [
        "span-1/data.csv:4: a quoted field opened here is never closed (truncated file?)"]


@pytest.mark.parametrize("delimiter,label", [(b";", "semicolon"), (b"\t", "tab"), (b"|", "pipe")])
def test_wrong_delimiter(delimiter, label):
    data = GOOD.replace(b",", delimiter)
    [line] = problems(data)
    assert line.startswith("span-1/data.csv:1: the header is one column")
    assert f"{label}-separated" in line


def test_utf8_bom_is_rejected_and_the_rest_still_checked():
    found = problems(b"\xef\xbb\xbf" + GOOD + b"1.0\n")
    assert found[0].startswith("span-1/data.csv:1: starts with a UTF-8 byte-order mark")
    assert found[1:] == ["span-1/data.csv:4: 1 fields, the header has 3"]


def test_carriage_return_line_endings_are_named():
    [line] = problems(GOOD.replace(b"\n", b"\r"))
    assert line.startswith("span-1/data.csv:1: lines end with a carriage return alone")
    # A stray CR at the end of a CRLF header is not that.
    assert problems(GOOD.replace(b"\n", b"\r\n", 1)) == []


def test_utf16_is_rejected():
    [line] = problems(GOOD.decode().encode("utf-16"))
    assert "UTF-16" in line


def test_compressed_file_with_a_csv_name():
    [line] = problems(gzip.compress(GOOD))
    assert line.startswith("span-1/data.csv: gzip-compressed data, not CSV text")


def test_binary_file():
    [line] = problems(bytes(range(256)) * 4)
    assert line.startswith("span-1/data.csv:1: NUL bytes: binary data")


def test_non_utf8_row_names_line_and_byte():
    data = GOOD + "9.0,1.0,Caf\xe9\n".encode("latin-1")
    assert problems(data) == [
        "span-1/data.csv:4: not UTF-8 text (byte 0xe9 at column 12); save the file as UTF-8"]


def test_parse_error_names_the_line():
    data = GOOD + b'9.0,1.0,"bl"ue"x\r5\n'
    found = problems(data)
    assert found and found[0].startswith("span-1/data.csv:4: ")


def test_every_problem_of_a_file_is_listed():
    data = b"amount,amount,kind\n1,2,blue\n1,2\n"
    found = problems(data)
    assert found == [
        "span-1/data.csv:1: column 'amount' appears 2 times (columns 1, 2)",
        "span-1/data.csv:1: column 'duration' required by the curated schema is missing",
        "span-1/data.csv:3: 2 fields, the header has 3"]


def test_files_of_a_span_must_share_the_header():
    a = check(GOOD, name="span-1/a.csv")
    same = check(GOOD, name="span-1/b.csv")
    reordered = check(b"duration,amount,kind\n2.0,10.0,blue\n", name="span-1/c.csv")
    other = check(b"amount,duration,region\n1,2,X\n", expected=None, name="span-1/d.csv")
    assert csv_check.span_header_problems([a, same]) == []
    found = csv_check.span_header_problems([a, same, reordered, other])
    assert found[0].startswith("span-1/c.csv:1: header differs from span-1/a.csv's "
                               "(the same columns in another order)")
    assert found[1].startswith("span-1/d.csv:1: header differs from span-1/a.csv's "
                               "(no 'kind'; extra 'region')")


def test_latest_span_with_a_csv_is_read():
    assert csv_check.resolve_span({1: ["data.csv"], 2: ["a.csv", "b.csv"]}, 0) == (2, [])
    assert csv_check.resolve_span({1: ["data.csv"], 2: ["a.csv"]}, 1) == (1, [])


def test_span_folder_without_csv():
    span, found = csv_check.resolve_span({1: ["data.txt", "data.CSV"]}, 0)
    assert span is None
    assert found == ["span-1/: no *.csv file (holds data.CSV, data.txt); it is newer than any "
                     "span with a CSV file"]
    assert csv_check.resolve_span({}, 0) == (None, ["no span-<N>/ folder with a *.csv file"])
    assert csv_check.resolve_span({3: []}, 3) == (None, ["span-3/: no *.csv file (is empty)"])


def test_newer_span_without_csv_is_not_silently_skipped():
    span, found = csv_check.resolve_span({1: ["data.csv"], 2: ["data.csv.gz"]}, 0)
    assert span is None
    assert found == ["span-2/: no *.csv file (holds data.csv.gz); it is newer than span-1, "
                     "which CsvExampleGen would read instead"]


def test_failure_message_lists_every_problem_on_its_own_line():
    message = csv_check.failure_message("/data", 3, ["a.csv: x", "b.csv:2: y"])
    assert message.splitlines() == [
        "CSV check of span 3 under /data found 2 problems; CsvExampleGen, Transform, Tuner and "
        "Trainer will not run:", "  - a.csv: x", "  - b.csv:2: y"]


# --- the component's file access (TFX fileio) --------------------------------


def _span(root, span, files):
    folder = root / f"span-{span}"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_check_span_files_reads_the_latest_span_through_fileio(tmp_path):
    from pipeline.components import check_span_files
    _span(tmp_path, 1, {"data.csv": b"garbage"})
    _span(tmp_path, 2, {"a.csv": GOOD, "b.csv": b"amount,duration,kind\n1,2\n"})
    span, checks, found = check_span_files(str(tmp_path), 0, COLUMNS)
    assert span == 2 and [c.name for c in checks] == ["span-2/a.csv", "span-2/b.csv"]
    assert found == ["span-2/b.csv:2: 2 fields, the header has 3"]
    assert check_span_files(str(tmp_path), 1, COLUMNS)[2] == [
        "span-1/data.csv:1: column 'garbage' (column 1) is not in the curated schema",
        "span-1/data.csv:1: column 'amount' required by the curated schema is missing",
        "span-1/data.csv:1: column 'duration' required by the curated schema is missing",
        "span-1/data.csv:1: column 'kind' required by the curated schema is missing",
        "span-1/data.csv: no data rows (header only)"]


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_schema_columns_are_the_training_features(tmp_path, folder):
    from pipeline.components import check_span_files, schema_columns
    from tabflow import dataset
    from tabflow.artifacts.schema import load_schema
    spec = dataset.load(str(folder))
    (tmp_path / "schema.pbtxt").write_text(open(spec.schema_path).read())
    columns = schema_columns(str(tmp_path))
    # Columns kept out of serving (the label or its sources) are still in every training span.
    not_served = {f.name for f in load_schema(spec.schema_path).feature
                           if "SERVING" in f.not_in_environment}
    assert not_served and not_served <= set(columns)
    span, checks, found = check_span_files(spec.data_root, 0, columns)
    assert span is not None and found == []
    assert all(sorted(c.header) == sorted(columns) and c.rows for c in checks)


def test_fingerprint_follows_files_and_new_span_folders(tmp_path):
    from pipeline.components import span_files_fingerprint
    _span(tmp_path, 1, {"data.csv": GOOD})
    first = span_files_fingerprint(str(tmp_path))
    assert span_files_fingerprint(str(tmp_path)) == first
    path = tmp_path / "span-1" / "data.csv"
    path.write_bytes(GOOD + b"1,2,blue\n")
    changed = span_files_fingerprint(str(tmp_path))
    assert changed != first
    (tmp_path / "span-2").mkdir()
    assert span_files_fingerprint(str(tmp_path)) != changed
    os.rmdir(tmp_path / "span-2")
    assert span_files_fingerprint(str(tmp_path)) == changed


# --- hostile files: one short message, memory bounded whatever the size ------------------


def test_a_10_mb_line_is_one_problem_not_a_10_mb_header():
    [line] = problems(b"x" * (10 << 20))
    assert line.startswith(f"span-1/data.csv:1: the first line is longer than "
                           f"{csv_check.MAX_LINE_BYTES:,} bytes")
    assert len(line) < 200


def test_an_overlong_data_line_is_named_and_the_next_rows_still_read():
    data = GOOD + b"1.0," * (csv_check.MAX_LINE_BYTES // 4 + 1) + b"\n" + b"1.0,2.0\n"
    assert problems(data) == [
        f"span-1/data.csv:4: line longer than {csv_check.MAX_LINE_BYTES:,} bytes "
        f"(a missing line break?)",
        "span-1/data.csv:5: 2 fields, the header has 3"]


def test_a_quoted_field_longer_than_the_limit_is_reported_where_it_opens():
    rows = b"10.0,2.0,blue\n" * (csv_check.MAX_LINE_BYTES // 14 + 10)
    [line] = problems(GOOD + b'"' + rows)
    assert line.startswith("span-1/data.csv:4: a quoted field opened here is still open "
                           f"{csv_check.MAX_LINE_BYTES:,} bytes later (an unclosed quote?)")


def test_a_million_empty_header_columns_is_one_problem():
    [line] = problems(b"," * 1_000_000 + b"\n" + b"," * 1_000_000 + b"\n")
    assert line == ("span-1/data.csv:1: the header has 1,000,001 columns (1,000,001 of them "
                    f"without a name); more than {csv_check.MAX_COLUMNS:,} is no table this "
                    "pipeline reads")


def test_all_nul_bytes_are_binary_data():
    assert problems(b"\x00" * (3 << 20)) == [
        "span-1/data.csv:1: NUL bytes: binary data, not CSV text"]


def test_binary_data_is_named_before_the_header_is_compared():
    # A text first line with columns missing, then binary bytes: only the binary data is named.
    assert problems(b"amount,duration\n" + bytes(range(256)) * 64) == [
        "span-1/data.csv:2: NUL bytes: binary data, not CSV text"]
    [line] = problems(b"amount,duration\n" + bytes(range(1, 256)) * 64)
    assert line.startswith("span-1/data.csv: binary data, not CSV text (")


def test_a_few_accented_bytes_are_not_binary():
    data = GOOD + "9.0,1.0,Caf\xe9\n".encode("latin-1")
    assert problems(data) == [
        "span-1/data.csv:4: not UTF-8 text (byte 0xe9 at column 12); save the file as UTF-8"]


def test_failure_message_lists_at_most_max_listed_problems():
    found = [f"span-1/data.csv:1: column {i} has no name" for i in range(1, 1001)]
    lines = csv_check.failure_message("/data", 1, found).splitlines()
    assert lines[0].startswith("CSV check of span 1 under /data found 1000 problems;")
    assert lines[1:-1] == [f"  - {p}" for p in found[:csv_check.MAX_LISTED]]
    assert lines[-1] == f"  - and {1000 - csv_check.MAX_LISTED} more problems"


_PEAK_SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("csv_check", sys.argv[1])
csv_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(csv_check)
with open(sys.argv[2], "rb") as f:
    found = csv_check.check_file("span-1/data.csv", f, ["amount", "duration", "kind"]).problems
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({"problems": found, "peak_kib": peak}))
"""


def _peak(path):
    """The check's problems for one file and the peak resident memory (KiB) of a fresh
    interpreter that ran it (csv_check.py loaded alone, nothing else imported)."""
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, csv_check.__file__, str(path)],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    return result["problems"], result["peak_kib"]


def _write_big(path, first: bytes, chunk: bytes, total: int):
    with open(path, "wb") as f:
        f.write(first)
        for _ in range(total // len(chunk)):
            f.write(chunk)


BIG = 200 << 20
BOUND_KIB = 150 << 10


@pytest.mark.parametrize("first,chunk,expected", [
    # An unclosed quote at the start of the data: the csv module alone would gather the rest
    # of the file into one field.
    (b'amount,duration,kind\n"', b"10.0,2.0,blue\n" * 74898,
     "span-1/data.csv:2: a quoted field opened here is still open"),
    # One line, no newline at all.
    (b"amount,duration,kind\n", b"10.0,2.0,blue," * 74898,
     "span-1/data.csv:2: line longer than"),
], ids=["unclosed-quote", "no-newline"])
def test_peak_memory_does_not_grow_with_the_file(tmp_path, first, chunk, expected):
    tiny = tmp_path / "tiny.csv"
    tiny.write_bytes(GOOD)
    assert _peak(tiny)[0] == []
    baseline = _peak(tiny)[1]
    big = tmp_path / "big.csv"
    _write_big(big, first, chunk, BIG)
    assert big.stat().st_size >= BIG - len(chunk)
    found, peak = _peak(big)
    big.unlink()
    assert len(found) == 1 and found[0].startswith(expected), found
    assert peak - baseline < BOUND_KIB, (peak, baseline)


# --- span folders: only span-<N> ------------------------------------------------------------


@pytest.mark.parametrize("folder,number", [
    ("span-3", 3), ("span-0", 0), ("span-03", 3), ("span-+3", 3), ("span-3 ", 3),
    ("span- 3", 3), ("span-\u0663", 3), ("span-\uff13", 3), ("span-1_0", 10), ("span--1", -1),
    ("span-1e3", None), ("span-3.0", None), ("span-0x3", None), ("span-x", None),
    ("span-", None), ("span-3\n", None)])
def test_tfx_span_number_is_what_tfx_reads(tmp_path, folder, number):
    """Pins csv_check's model of TFX 1.16's span matching against TFX itself."""
    from tfx.components.example_gen import utils
    from tfx.proto import example_gen_pb2
    from pipeline.components import SPAN_PATTERN
    assert csv_check.tfx_span_number(folder[len("span-"):]) == number
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "data.csv").write_bytes(GOOD)
    split = example_gen_pb2.Input.Split(name="single_split", pattern=SPAN_PATTERN)
    if number is None:
        with pytest.raises(ValueError):
            utils.calculate_splits_fingerprint_span_and_version(str(tmp_path), [split])
    else:
        _, span, _ = utils.calculate_splits_fingerprint_span_and_version(str(tmp_path), [split])
        assert span == number


def test_only_canonical_span_folders_are_spans():
    listing = csv_check.sort_span_folders({"span-1": ["data.csv"], "span-12": ["data.csv"]})
    assert listing.spans == {1: ["data.csv"], 12: ["data.csv"]} and listing.problems == []


@pytest.mark.parametrize("folder,shown,number", [
    ("span-03", "span-03/", 3), ("span-+3", "span-+3/", 3), ("span-3 ", "'span-3 '/", 3),
    ("span-\u0663", "'span-\u0663'/", 3), ("span-1_0", "span-1_0/", 10)])
def test_a_non_canonical_span_folder_is_rejected(folder, shown, number):
    listing = csv_check.sort_span_folders({folder: ["data.csv"], "span-1": ["data.csv"]})
    assert listing.spans == {1: ["data.csv"]}
    assert listing.problems == [f"{shown}: not a span folder name; CsvExampleGen reads it as "
                                f"span {number}: rename it span-{number}"]


def test_folders_on_one_span_are_named_together():
    listing = csv_check.sort_span_folders({"span-3": ["a.csv"], "span-03": ["b.csv"],
                                           "span-2": ["c.csv"]})
    assert listing.spans == {2: ["c.csv"], 3: ["a.csv"]}
    assert listing.problems == ["span-03/ and span-3/: both are span 3 to CsvExampleGen, which "
                                "would read only one of them; keep one folder, named span-3"]


def test_span_folders_that_are_no_span_number():
    found = csv_check.sort_span_folders({"span-1e3": ["data.csv"], "span-old": [],
                                         "span--1": ["data.csv"]}).problems
    assert found == [
        "span--1/: CsvExampleGen reads it as span -1; span numbers are 0, 1, 2, ...: rename "
        "the folder",
        "span-1e3/: '1e3' is not a span number, yet CsvExampleGen's span-{SPAN} pattern "
        "matches the folder and would fail on its CSV files; name span folders span-<N> or "
        "move it out of the data root",
        "span-old/: 'old' is not a span number, yet CsvExampleGen's span-{SPAN} pattern "
        "matches the folder; name span folders span-<N> or move it out of the data root"]


def test_check_span_files_names_misnamed_folders_and_leaves_others_alone(tmp_path):
    from pipeline.components import check_span_files, span_folders
    _span(tmp_path, 1, {"data.csv": GOOD})
    _span(tmp_path, "01", {"data.csv": GOOD})
    _span(tmp_path, "+2", {"data.csv": GOOD})
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "old.csv").write_bytes(b"garbage")
    (tmp_path / "README").write_text("spans live here")
    (tmp_path / "span-9").write_text("a file, not a folder")
    assert span_folders(str(tmp_path)) == {1: ["data.csv"]}
    span, _, found = check_span_files(str(tmp_path), 0, COLUMNS)
    assert span == 1
    assert found == [
        "span-01/ and span-1/: both are span 1 to CsvExampleGen, which would read only one "
        "of them; keep one folder, named span-1",
        "span-+2/: not a span folder name; CsvExampleGen reads it as span 2: rename it span-2"]


def test_fingerprint_follows_misnamed_span_folders(tmp_path):
    from pipeline.components import span_files_fingerprint
    _span(tmp_path, 1, {"data.csv": GOOD})
    first = span_files_fingerprint(str(tmp_path))
    _span(tmp_path, "01", {"data.csv": GOOD})
    assert span_files_fingerprint(str(tmp_path)) != first
