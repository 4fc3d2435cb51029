"""The CSV check (pipeline/csv_check.py) on small files: every whole-file problem CsvExampleGen
would choke on or silently accept is named with its file and line; good files pass."""
import gzip
import io
import os

import pytest

from pipeline import csv_check

COLUMNS = ["fare", "tips", "payment_type"]
GOOD = b"fare,tips,payment_type\n10.0,2.0,Cash\n12.5,0.0,Credit Card\n"


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
    assert problems(b"payment_type,fare,tips\nCash,10.0,2.0\n") == []


def test_blank_lines_and_no_final_newline_pass():
    assert check(GOOD + b"\n\n13.0,1.0,Cash").rows == 3
    assert check(GOOD + b"\n\n13.0,1.0,Cash").problems == []


def test_quoted_fields_with_commas_and_newlines_pass():
    data = b'fare,tips,payment_type\n10.0,2.0,"Credit, Card"\n11.0,1.0,"two\nlines"\n'
    result = check(data)
    assert result.problems == [] and result.rows == 2


def test_empty_file():
    assert problems(b"") == ["span-1/data.csv: empty file (0 bytes)"]


def test_header_only():
    assert problems(b"fare,tips,payment_type\n") == ["span-1/data.csv: no data rows (header only)"]
    assert problems(b"fare,tips,payment_type") == ["span-1/data.csv: no data rows (header only)"]
    assert problems(b"fare,tips,payment_type\n\n\n") == [
        "span-1/data.csv: no data rows (only blank lines after the header)"]


def test_blank_first_line():
    assert problems(b"\n" + GOOD) == [
        "span-1/data.csv:1: the first line is blank; it must be the header"]


def test_duplicate_header_names_the_column_and_positions():
    data = b"fare,tips,payment_type,fare\n1,2,Cash,3\n"
    assert problems(data) == ["span-1/data.csv:1: column 'fare' appears 2 times (columns 1, 4)"]


def test_ambiguous_header_names_both_columns():
    data = b"fare,tips,payment_type,Fare\n1,2,Cash,3\n"
    [line] = problems(data)
    assert line.startswith("span-1/data.csv:1: columns 'fare' (column 1) and 'Fare' (column 4)")
    assert "differ only in case" in line


def test_spaces_quotes_and_nameless_columns_in_the_header():
    data = b'fare, tips,"payment_type",\n1,2,Cash,\n'
    found = problems(data)
    assert "span-1/data.csv:1: column 2 name ' tips' has leading or trailing spaces" in found
    assert any("column 3 name '\"payment_type\"' is quoted" in p for p in found)
    assert "span-1/data.csv:1: column 4 has no name" in found
    assert "span-1/data.csv:1: column 'tips' required by the curated schema is missing" in found


def test_missing_extra_and_renamed_columns():
    assert problems(b"fare,payment_type\n1,Cash\n") == [
        "span-1/data.csv:1: column 'tips' required by the curated schema is missing"]
    assert problems(b"fare,tips,payment_type,rating\n1,2,Cash,5\n") == [
        "span-1/data.csv:1: column 'rating' (column 4) is not in the curated schema"]
    assert problems(b"fare_usd,tips,payment_type\n1,2,Cash\n") == [
        "span-1/data.csv:1: column 'fare_usd' (column 1) is not in the curated schema "
        "(renamed from 'fare'?)",
        "span-1/data.csv:1: column 'fare' required by the curated schema is missing"]


def test_ragged_rows_name_each_line():
    data = GOOD + b"1.0,2.0\n3.0,4.0,Cash,extra\n"
    assert problems(data) == ["span-1/data.csv:4: 2 fields, the header has 3",
                              "span-1/data.csv:5: 4 fields, the header has 3"]


def test_many_ragged_rows_are_counted_not_all_listed():
    data = b"fare,tips,payment_type\n" + b"1.0,2.0\n" * 12
    found = problems(data)
    assert len(found) == csv_check.MAX_ROW_PROBLEMS + 1
    assert found[0] == "span-1/data.csv:2: 2 fields, the header has 3"
    assert found[-1] == "span-1/data.csv: 7 more rows with problems (the first 5 are listed)"


def test_truncated_file_names_the_last_line():
    data = GOOD + b"13.0,1"
    assert problems(data) == [
        "span-1/data.csv:4: 2 fields, the header has 3 (the file ends mid-row: truncated?)"]


def test_unclosed_quote_names_the_line_it_opens():
    data = GOOD + b'13.0,1.0,"Cash\n14.0,1.0,Cash\n'
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
    data = GOOD + b'9.0,1.0,"Ca"sh"x\r5\n'
    found = problems(data)
    assert found and found[0].startswith("span-1/data.csv:4: ")


def test_every_problem_of_a_file_is_listed():
    data = b"fare,fare,payment_type\n1,2,Cash\n1,2\n"
    found = problems(data)
    assert found == ["span-1/data.csv:1: column 'fare' appears 2 times (columns 1, 2)",
                     "span-1/data.csv:1: column 'tips' required by the curated schema is missing",
                     "span-1/data.csv:3: 2 fields, the header has 3"]


def test_files_of_a_span_must_share_the_header():
    a = check(GOOD, name="span-1/a.csv")
    same = check(GOOD, name="span-1/b.csv")
    reordered = check(b"tips,fare,payment_type\n2.0,10.0,Cash\n", name="span-1/c.csv")
    other = check(b"fare,tips,company\n1,2,X\n", expected=None, name="span-1/d.csv")
    assert csv_check.span_header_problems([a, same]) == []
    found = csv_check.span_header_problems([a, same, reordered, other])
    assert found[0].startswith("span-1/c.csv:1: header differs from span-1/a.csv's "
                               "(the same columns in another order)")
    assert found[1].startswith("span-1/d.csv:1: header differs from span-1/a.csv's "
                               "(no 'payment_type'; extra 'company')")


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
    _span(tmp_path, 2, {"a.csv": GOOD, "b.csv": b"fare,tips,payment_type\n1,2\n"})
    span, checks, found = check_span_files(str(tmp_path), 0, COLUMNS)
    assert span == 2 and [c.name for c in checks] == ["span-2/a.csv", "span-2/b.csv"]
    assert found == ["span-2/b.csv:2: 2 fields, the header has 3"]
    assert check_span_files(str(tmp_path), 1, COLUMNS)[2] == [
        "span-1/data.csv:1: column 'garbage' (column 1) is not in the curated schema",
        "span-1/data.csv:1: column 'fare' required by the curated schema is missing",
        "span-1/data.csv:1: column 'tips' required by the curated schema is missing",
        "span-1/data.csv:1: column 'payment_type' required by the curated schema is missing",
        "span-1/data.csv: no data rows (header only)"]


def test_schema_columns_are_the_training_features(tmp_path):
    from pipeline.components import schema_columns
    from pipeline.config import PipelineConfig
    (tmp_path / "schema.pbtxt").write_text(open(PipelineConfig().data.schema_path).read())
    columns = schema_columns(str(tmp_path))
    assert len(columns) == 18 and "tips" in columns and "fare" in columns


def test_fingerprint_follows_files_and_new_span_folders(tmp_path):
    from pipeline.components import span_files_fingerprint
    _span(tmp_path, 1, {"data.csv": GOOD})
    first = span_files_fingerprint(str(tmp_path))
    assert span_files_fingerprint(str(tmp_path)) == first
    path = tmp_path / "span-1" / "data.csv"
    path.write_bytes(GOOD + b"1,2,Cash\n")
    changed = span_files_fingerprint(str(tmp_path))
    assert changed != first
    (tmp_path / "span-2").mkdir()
    assert span_files_fingerprint(str(tmp_path)) != changed
    os.rmdir(tmp_path / "span-2")
    assert span_files_fingerprint(str(tmp_path)) == changed
