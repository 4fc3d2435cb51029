"""`tabflow init`: the decisions on the data (pipeline/dataset_init.py, no TFDV) and one run of
the real command on a small CSV."""
import csv
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pipeline import csv_check
from pipeline import dataset_init as di
from tabflow import dataset
from tabflow.console import init as init_command
from tabflow.console.main import main


def write_csv(path: Path, rows, header=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def copy(tmp_path, spans, label="y"):
    return di.copy_spans(spans, label, tmp_path / "out" / "spans")


def profile(values, name="y"):
    p = di.ColumnProfile(name)
    for value in values:
        p.add(value)
    return p


def copied_with_label(values_by_span, columns=("y",)):
    """A Copied for label values per span, as copy_spans would profile them."""
    moments = di.Moments()
    for values in values_by_span.values():
        for value in values:
            moments.add(value)
    every = [v for values in values_by_span.values() for v in values]
    return di.Copied(list(columns), {}, "y", {n: len(v) for n, v in values_by_span.items()},
                     {"y": profile(every)}, {n: Counter(v) for n, v in values_by_span.items()},
                     moments)


# --- names and types -------------------------------------------------------------------------

def test_unsafe_names_become_snake_case_and_safe_ones_are_kept():
    raw = ["species", "Bill Length (mm)", "2nd visit", "BodyMass", "island!", "Ünit", "#"]
    assert di.feature_names(raw) == [
        "species", "bill_length_mm", "col_2nd_visit", "BodyMass", "island", "unit", "column"]


def test_colliding_names_are_numbered_ignoring_case():
    # Kept names are served first; CsvCheck rejects names that differ only in case.
    assert di.feature_names(["bill length", "bill_length", "Bill-Length", "Age", "age"]) == [
        "bill_length_2", "bill_length", "bill_length_3", "Age", "age_2"]


def test_value_kinds_follow_tfx_bsl():
    assert [di.value_kind(v) for v in ["", "12", "-3", "1.5", "1e3", "nan", "abc",
                                       str(2 ** 63)]] == [
        None, di.INT, di.INT, di.FLOAT, di.FLOAT, di.FLOAT, di.STRING, di.STRING]
    assert profile(["1", "", "2.5"]).kind == di.FLOAT
    assert profile(["1", "x", "2"]).kind == di.STRING
    assert profile(["", ""]).kind is None


def test_a_column_with_many_values_stops_counting_them():
    p = profile([str(i) for i in range(200)])
    assert p.counts is None and p.present == 200


def test_dataset_name_comes_from_the_folder():
    assert di.dataset_name("/x/penguins") == "penguins"
    assert di.dataset_name("/x/my-data/") == "my-data"
    assert di.dataset_name("/x/My Data 2") == "my_data_2"


# --- where the data is -----------------------------------------------------------------------

def test_sources_file_folder_and_span_folders(tmp_path):
    one = write_csv(tmp_path / "one.csv", [[1]], ["a"])
    assert di.find_sources(str(one)) == {1: [one]}
    flat = tmp_path / "flat"
    files = [write_csv(flat / n, [[1]], ["a"]) for n in ("b.csv", "a.csv")]
    (flat / "notes.txt").write_text("x")
    assert di.find_sources(str(flat)) == {1: sorted(files)}
    spans = tmp_path / "spans"
    s1 = write_csv(spans / "span-1" / "x.csv", [[1]], ["a"])
    s3 = write_csv(spans / "span-3" / "x.csv", [[1]], ["a"])
    assert di.find_sources(str(spans)) == {1: [s1], 3: [s3]}


@pytest.mark.parametrize("layout, message", [
    ({"span-1/a.csv": 1, "b.csv": 1}, "both CSV files"),
    ({"span-01/a.csv": 1}, "span-01/"),
    ({"span-2/notes.txt": 1}, "span-2: no *.csv file"),
    ({"notes.txt": 1}, "no *.csv file and no span-<N> folder"),
])
def test_sources_that_are_no_dataset_are_named(tmp_path, layout, message):
    for name in layout:
        write_csv(tmp_path / "src" / name, [[1]], ["a"])
    with pytest.raises(di.InitError, match="^" + str(tmp_path / "src")) as e:
        di.find_sources(str(tmp_path / "src"))
    assert message in str(e.value)
    with pytest.raises(di.InitError, match="no such file or folder"):
        di.find_sources(str(tmp_path / "missing"))


# --- copying ---------------------------------------------------------------------------------

def test_copy_renames_reorders_and_profiles(tmp_path):
    a = write_csv(tmp_path / "s/span-1/a.csv", [["x", "1", "2.5"], ["z", "", "3"]],
                  ["Kind", "Bill Length", "mass"])
    # Same columns in another order, CRLF line ends, a blank line, a byte-order mark.
    b = tmp_path / "s/span-1/b.csv"
    b.write_bytes("\ufeffmass,Kind,Bill Length\r\n4,y,7\r\n\r\n\"5\",\"x\",8\r\n".encode())
    c = write_csv(tmp_path / "s/span-2/c.csv", [["y", "3", "1"]],
                  ["Kind", "Bill Length", "mass"])
    copied = copy(tmp_path, {1: [a, b], 2: [c]}, label="Kind")
    assert copied.columns == ["Kind", "bill_length", "mass"]
    assert copied.renames == {"Bill Length": "bill_length"}
    assert copied.label == "Kind" and copied.span_rows == {1: 4, 2: 1} and copied.rows == 5
    out = tmp_path / "out/spans"
    assert (out / "span-1/data.csv").read_bytes() == (
        b"Kind,bill_length,mass\nx,1,2.5\nz,,3\ny,7,4\nx,8,5\n")
    assert (out / "span-2/data.csv").read_bytes() == b"Kind,bill_length,mass\ny,3,1\n"
    assert copied.profiles["bill_length"].kind == di.INT
    assert copied.profiles["bill_length"].missing == 1
    assert copied.profiles["mass"].kind == di.FLOAT
    assert copied.label_counts == {1: Counter(x=2, z=1, y=1), 2: Counter(y=1)}
    # What CsvExampleGen will read passes the pipeline's own check.
    for path in out.glob("span-*/data.csv"):
        with open(path, "rb") as f:
            assert csv_check.check_file(path.name, f, copied.columns).problems == []


def test_label_is_found_by_its_new_name_too(tmp_path):
    src = write_csv(tmp_path / "a.csv", [["1", "2", "3"]], ["Class Name", "b", " b "])
    copied = copy(tmp_path, {1: [src]}, label="class_name")
    assert copied.label == "class_name"
    assert copied.renames == {"Class Name": "class_name", " b ": "b_2"}


def test_a_quoted_field_spanning_lines_is_one_row(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text('y,note\n1,"two\nlines"\n2,plain\n3,x,too many\n')
    with pytest.raises(di.InitError, match=r"a.csv:5: 3 fields, the header has 2$"):
        copy(tmp_path, {1: [src]})


@pytest.mark.parametrize("text, message", [
    ("", "a.csv: empty file"),
    ("y,b\n", "a.csv: no data rows (header only)"),
    ("\n\ny,b\n", "a.csv: no data rows (header only)"),
    ("1,2\n3,4\n", "a.csv:1: the first line is all numbers (1,2): data, not a header"),
    ("y,,c\n1,2,3\n", "a.csv:1: column 2 has no name"),
    ("y,b,b\n1,2,3\n", "a.csv:1: column 'b' appears twice (columns 2 and 3)"),
    ("a,b\n1,2\n", "a.csv:1: no column 'y' (the --label); the columns are a, b"),
    ("y,b\n1,2\n3\n", "a.csv:3: 1 fields, the header has 2"),
    ("y,b\n1,2\n,4\n", "a.csv:3: no value in the label column 'y'"),
    ('y,b\n1,"2\n', "a.csv:2: not readable as CSV"),
])
def test_unreadable_csv_is_one_line_naming_file_and_line(tmp_path, text, message):
    src = tmp_path / "a.csv"
    src.write_text(text)
    with pytest.raises(di.InitError) as e:
        copy(tmp_path, {1: [src]})
    assert str(e.value).startswith(str(src.parent) + "/" + message)
    assert "\n" not in str(e.value)


def test_not_utf8_is_named(tmp_path):
    src = tmp_path / "a.csv"
    src.write_bytes(b"y,b\n1,caf\xe9\n")
    with pytest.raises(di.InitError, match=r"a.csv: not UTF-8 text \(byte 0xe9"):
        copy(tmp_path, {1: [src]})


def test_files_with_other_columns_are_refused(tmp_path):
    a = write_csv(tmp_path / "a.csv", [["1", "2"]], ["y", "b"])
    b = write_csv(tmp_path / "b.csv", [["1", "2"]], ["y", "c"])
    with pytest.raises(di.InitError, match=r"b.csv:1: columns differ from .*a.csv's "
                                           r"\(no b; extra c\)"):
        copy(tmp_path, {1: [a, b]})


# --- problem type ----------------------------------------------------------------------------

@pytest.mark.parametrize("values, problem_type, classes", [
    (["no"] * 5 + ["yes"] * 2, dataset.BINARY, ("no", "yes")),
    (["b"] * 2 + ["a"] * 5, dataset.BINARY, ("a", "b")),  # [majority, minority]
    (["0", "1", "1"], dataset.BINARY, ()),
    (["2", "1", "2"], dataset.BINARY, ("2", "1")),
    (["Gentoo", "Adelie", "Chinstrap", "Adelie"], dataset.MULTICLASS,
     ("Adelie", "Chinstrap", "Gentoo")),
    (["10", "2", "1", "2"], dataset.MULTICLASS, ("1", "2", "10")),  # by value, not text
    ([str(i) for i in range(20)], dataset.MULTICLASS, tuple(str(i) for i in range(20))),
    ([str(i) for i in range(21)], dataset.REGRESSION, ()),
    (["0.5", "1", "1.5"], dataset.REGRESSION, ()),
    ([str(i) for i in range(300)], dataset.REGRESSION, ()),
    ([f"c{i}" for i in range(50)], dataset.MULTICLASS, tuple(sorted(f"c{i}" for i in range(50)))),
])
def test_problem_type_is_inferred_from_the_label(values, problem_type, classes):
    problem = di.infer_problem(profile(values))
    assert (problem.problem_type, problem.classes) == (problem_type, classes)


@pytest.mark.parametrize("values, forced, message", [
    (["a", "a"], None, "label 'y' holds one value ('a') in all 2 rows"),
    ([f"c{i}" for i in range(51)], None, "more than 50 distinct text values"),
    (["a", "b", "c"], dataset.REGRESSION, "holds text, not numbers"),
    (["a", "b", "c"], dataset.BINARY, "has 3 values; a binary label has 2"),
    (["a", "b"], dataset.MULTICLASS, "that is --problem-type binary"),
    ([str(i) for i in range(60)], dataset.MULTICLASS, "try --problem-type regression"),
])
def test_a_label_that_cannot_be_learnt_is_one_line(values, forced, message):
    with pytest.raises(di.InitError, match="--") as e:
        di.infer_problem(profile(values), forced)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_forced_problem_type_uses_the_label_as_it_is():
    problem = di.infer_problem(profile(["1", "2", "3"]), dataset.REGRESSION)
    assert problem.problem_type == dataset.REGRESSION and "(--problem-type)" in problem.why
    assert di.infer_problem(profile(["0.0", "1.0", "1.0"]), dataset.BINARY).classes == (
        "1.0", "0.0")


# --- measured settings -----------------------------------------------------------------------

def test_multiclass_threshold_beats_the_majority_class():
    copied = copied_with_label({1: ["a"] * 45 + ["b"] * 35 + ["c"] * 20})
    gates = di.measure_gates(di.infer_problem(copied.profiles["y"]), copied)
    assert gates.threshold == 0.5  # 0.45 + 0.05, float noise not rounded up to 0.51
    assert gates.max_regression == dataset.DEFAULT_MAX_REGRESSION[dataset.MULTICLASS]
    assert gates.min_label_share == 0.05  # the default is below half of 20%
    copied = copied_with_label({1: ["a"] * 97 + ["b", "c", "d"]})
    gates = di.measure_gates(di.infer_problem(copied.profiles["y"]), copied)
    assert gates.threshold == di.MAX_MULTICLASS_THRESHOLD
    assert gates.min_label_share == 0.005
    assert di.ceil_to(0.4419 + 0.05, 2) == 0.5 and di.ceil_to(0.4501 + 0.05, 2) == 0.51


def test_min_label_share_is_half_the_rarest_share_in_any_span():
    copied = copied_with_label({1: ["a"] * 9 + ["b"], 2: ["a"] * 97 + ["b"] * 3})
    gates = di.measure_gates(di.infer_problem(copied.profiles["y"]), copied)
    assert gates.threshold == dataset.DEFAULT_THRESHOLD[dataset.BINARY]
    assert gates.min_label_share == 0.015 and "span 2" in gates.min_label_share_why


def test_regression_threshold_is_the_mean_predictors_rmse():
    values = [str(v) for v in (100, 200, 300, 400)]  # std 111.803...
    copied = copied_with_label({1: values})
    gates = di.measure_gates(di.infer_problem(profile(values), dataset.REGRESSION), copied)
    assert (gates.threshold, gates.max_regression, gates.min_label_share) == (112.0, 5.6, None)
    assert di.significant(0.000123456, 3) == 0.000123


def test_min_examples_is_half_the_smallest_span_at_most_the_default():
    assert di.min_examples(copied_with_label({1: ["1"] * 1000})) == dataset.DEFAULT_MIN_EXAMPLES
    assert di.min_examples(copied_with_label({1: ["1"] * 1000, 2: ["1"] * 150})) == 75
    assert di.min_examples(copied_with_label({1: ["1"]})) == 1


def test_report_slices_are_low_cardinality_string_or_int_columns(tmp_path):
    header = ["y", "float_col", "many", "one", "island", "sex", "year"]
    rows = [[str(i % 3), f"{i}.5", str(i), "x", "abc"[i % 3], "mf"[i % 2], str(2007 + i % 3)]
            for i in range(30)]
    copied = copy(tmp_path, {1: [write_csv(tmp_path / "a.csv", rows, header)]})
    assert di.report_slices(copied) == ["island", "sex"]


def test_outlier_share_is_the_worst_span_and_feature(tmp_path):
    files = {1: write_csv(tmp_path / "1.csv", [["1", "5"]] * 99 + [["100", ""]], ["a", "b"]),
             2: write_csv(tmp_path / "2.csv", [["1", "5"]] * 97 + [["100", "5"]] * 3,
                          ["a", "b"])}
    assert di.outlier_share(files, {"a": (None, 10.0), "b": (0.0, None)}) == 0.03
    assert di.max_outlier_share(0.03)[0] == 0.06
    assert di.max_outlier_share(0.004)[0] == dataset.DEFAULT_MAX_OUTLIER_SHARE
    assert di.max_outlier_share(None)[0] == dataset.DEFAULT_MAX_OUTLIER_SHARE


@pytest.mark.parametrize("value", [
    "Adelie", "Two Words", "yes", "No", "null", "~", "1", "007", "1.10", "a: b", "x#y",
    "[x]", "'q'", '"q"', "back\\slash", "", " lead", "trail ", "é", "-", "1e3"])
def test_yaml_scalars_read_back_as_written(value):
    assert str(yaml.safe_load(f"k: [{di.yaml_scalar(value)}]")["k"][0]) == value
    assert str(yaml.safe_load(f"k: {di.yaml_scalar(value)}")["k"]) == value


@pytest.mark.parametrize("value", [0.5, 77.0, 1e-05, 3.2e16, 0.0])
def test_yaml_floats_read_back_as_floats(value):
    assert yaml.safe_load(f"k: {di.yaml_scalar(value)}")["k"] == value


@pytest.mark.parametrize("values, forced", [
    (["no"] * 6 + ["yes", "null"] * 2, dataset.MULTICLASS),
    (["0", "1", "1"] * 5, None),
    (["yes", "no", "no"] * 5, None),
    ([str(v) for v in range(100)], None),
])
def test_spec_and_readme_load_as_written(tmp_path, values, forced):
    copied = copied_with_label({1: values, 2: values}, columns=("y", "island"))
    copied.renames["Island Name"] = "island"
    problem = di.infer_problem(copied.profiles["y"], forced)
    gates = di.measure_gates(problem, copied)
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / dataset.SPEC_FILE).write_text(di.spec_yaml(
        "my-data", "/data/source folder/x.csv", copied, problem, gates, ["island"],
        di.max_outlier_share(0.0)))
    spec = dataset.load(str(folder))
    assert (spec.name, spec.label, spec.problem_type, spec.classes, spec.report_slices,
            spec.gated_slices, spec.splits, spec.hooks) == (
        "my-data", "y", problem.problem_type, problem.classes, ("island",), (),
        dataset.DEFAULT_SPLITS, None)
    assert (spec.threshold, spec.max_regression) == (gates.threshold, gates.max_regression)
    assert spec.min_examples == len(values) // 2
    if problem.problem_type != dataset.REGRESSION:
        assert spec.min_label_share == gates.min_label_share
    assert max(map(len, (folder / dataset.SPEC_FILE).read_text().splitlines())) <= 99
    readme = di.readme_text("my-data", "/data/x.csv", copied, problem, "tabflow run")
    assert "`/data/x.csv`" in readme and "`Island Name` -> `island`" in readme


# --- the command -----------------------------------------------------------------------------

def test_init_is_registered_and_imports_no_tensorflow():
    import subprocess
    import sys
    code = ("import sys; from tabflow.console.main import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', "
            "'tensorflow_data_validation', 'tfx', 'apache_beam'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[3]).stdout
    assert out.strip() == "[]"


def test_bad_csv_exits_2_and_leaves_nothing(tmp_path, capsys):
    src = write_csv(tmp_path / "a.csv", [["1", "2"], ["3"]], ["y", "b"])
    parent = tmp_path / "datasets"
    parent.mkdir()
    assert main(["init", "--csv", str(src), "--label", "y", "--out",
                 str(parent / "new")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"ERROR: {src}:3: 1 fields, the header has 2"
    assert os.listdir(parent) == []


def test_existing_folder_is_refused_without_force(tmp_path, capsys):
    src = write_csv(tmp_path / "a.csv", [["1", "2"]], ["y", "b"])
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["init", "--csv", str(src), "--label", "y", "--out", str(out)]) == 2
    assert "exists and is not empty; --force replaces it" in capsys.readouterr().err
    inside = write_csv(out / "data.csv", [["1", "2"]], ["y", "b"])
    assert main(["init", "--csv", str(inside), "--label", "y", "--out", str(out),
                 "--force"]) == 2
    assert "lies inside" in capsys.readouterr().err
    assert main(["init", "--csv", str(src), "--label", "y", "--out", str(out),
                 "--name", "no good"]) == 2
    assert "--name" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["data.csv", "keep.txt"]


def test_install_replaces_a_forced_folder_whole(tmp_path):
    work, out = tmp_path / ".work", tmp_path / "ds"
    (work / "spans").mkdir(parents=True)
    out.mkdir()
    (out / "old.txt").write_text("old")
    init_command._install(work, out)
    assert os.listdir(out) == ["spans"] and os.listdir(tmp_path) == ["ds"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (work / "x").mkdir(parents=True)
    init_command._install(work, empty)
    assert os.listdir(empty) == ["x"]


def test_init_writes_a_dataset_that_loads_and_validates(tmp_path, capsys):
    """The real command, TFDV included, on a small CSV with names to rewrite."""
    import tensorflow_data_validation as tfdv
    from tabflow.artifacts.schema import load_schema

    rows = []
    for i in range(150):
        kind = ["small", "small", "large", "medium", "small"][i % 5]
        rows.append([kind, f"{10 + (i * 7) % 30}.5" if i % 10 else "", "north south".split()[i % 2],
                     str(i % 3), str(1000 + i)])
    src = write_csv(tmp_path / "in" / "shop data.csv", rows,
                    ["Kind", "Length (cm)", "Region", "2nd Grade", "id"])
    out = tmp_path / "datasets" / "shop"
    assert main(["init", "--csv", str(src), "--label", "Kind", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "renamed column 'Length (cm)' -> length_cm" in printed
    assert "renamed column '2nd Grade' -> col_2nd_grade" in printed
    assert sorted(os.listdir(out.parent)) == ["shop"]
    assert sorted(os.listdir(out)) == ["README.md", "dataset.yaml", "schema.pbtxt", "spans"]

    spec = dataset.load(str(out))
    assert (spec.name, spec.label, spec.problem_type, spec.classes) == (
        "shop", "Kind", dataset.MULTICLASS, ("large", "medium", "small"))
    assert spec.threshold == 0.65  # small: 60%
    assert spec.report_slices == ("Region", "col_2nd_grade")
    assert spec.min_examples == 75 and spec.min_label_share == 0.05
    assert str(src) in (out / "README.md").read_text()

    schema = load_schema(spec.schema_path)
    features = {f.name: f for f in schema.feature}
    assert list(features) == ["Kind", "length_cm", "Region", "col_2nd_grade", "id"]
    label = features["Kind"]
    assert (label.presence.min_fraction, label.presence.min_count) == (1.0, 1)
    assert list(label.not_in_environment) == ["SERVING"]
    length = features["length_cm"].float_domain
    assert (length.min, length.disallow_nan) == (0.0, True) and length.max > 39.5
    assert features["id"].int_domain.max >= 1149
    # The data it ships passes its own schema.
    statistics = tfdv.generate_statistics_from_csv(
        str(out / "spans" / "span-*" / "data.csv"), output_path=str(tmp_path / "stats"))
    anomalies = tfdv.validate_statistics(statistics, schema)
    assert not anomalies.anomaly_info, anomalies
    with open(out / "spans" / "span-1" / "data.csv", "rb") as f:
        assert csv_check.check_file("data.csv", f, list(features)).problems == []
    assert (out / "spans" / "span-1" / "data.csv").read_text().splitlines()[0] == (
        "Kind,length_cm,Region,col_2nd_grade,id")
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # not private like a temp folder
