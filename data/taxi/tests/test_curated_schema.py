"""The curated data/taxi/schema.pbtxt against the real data, validated with TFDV."""

import io
from pathlib import Path

import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from tabflow.artifacts.drift import measurement_rows
from tabflow.artifacts.schema import load_schema
from pipeline import schema_proposal as sp
from pipeline import span_values
from tabflow import dataset

REPO = Path(__file__).resolve().parents[3]
SCHEMA_PATH = REPO / "data" / "taxi" / "schema.pbtxt"
SPAN_FILES = sorted((REPO / "data" / "taxi" / "spans").glob("span-*/data.csv"))

PAYMENT_TYPES = ["Cash", "Credit Card", "Dispute", "No Charge", "Pcard", "Prcard", "Unknown"]
# The drift gate's comparators (schema/README.md): L-infinity for categorical features,
# Jensen-Shannon over quantile histograms for numeric ones.
DRIFT_THRESHOLDS = {"payment_type": ("L-infinity", 0.2), "company": ("L-infinity", 0.2),
                    "trip_miles": ("Jensen-Shannon", 0.15), "fare": ("Jensen-Shannon", 0.15),
                    "trip_seconds": ("Jensen-Shannon", 0.15), "tips": ("Jensen-Shannon", 0.2)}


@pytest.fixture(scope="module")
def schema() -> schema_pb2.Schema:
    return load_schema(SCHEMA_PATH)


@pytest.fixture(scope="module")
def csv_lines():
    lines = []
    for path in SPAN_FILES:
        span_lines = path.read_text().splitlines(keepends=True)
        lines += span_lines if not lines else span_lines[1:]
    # No quoting in this file, so rows can be edited by splitting on commas.
    assert '"' not in "".join(lines)
    return lines[0], lines[1:]


@pytest.fixture(scope="module")
def full_stats(tmp_path_factory, csv_lines):
    path = tmp_path_factory.mktemp("all_spans") / "data.csv"
    path.write_text(csv_lines[0] + "".join(csv_lines[1]))
    return tfdv.generate_statistics_from_csv(str(path))


@pytest.fixture(scope="module")
def span_stats():
    return {path.parent.name: tfdv.generate_statistics_from_csv(str(path)) for path in SPAN_FILES}


@pytest.mark.parametrize("span", [p.parent.name for p in SPAN_FILES])
def test_every_span_validates_cleanly(span, schema, span_stats):
    assert anomalies(span_stats[span], schema) == {}


def drift_rows(stats, previous, schema):
    result = tfdv.validate_statistics(stats, schema, previous_statistics=previous)
    return {r["feature"]: r for r in measurement_rows("all", result.drift_skew_info)}


def test_drift_comparators_per_feature_kind(schema):
    for name, (measure, threshold) in DRIFT_THRESHOLDS.items():
        comparator = feature(schema, name).drift_comparator
        if measure == "L-infinity":
            assert comparator.infinity_norm.threshold == threshold, name
        else:
            js = comparator.jensen_shannon_divergence
            assert js.threshold == threshold, name
            assert js.source.type == schema_pb2.HistogramSelection.QUANTILES, name
    assert {f.name for f in schema.feature if f.HasField("drift_comparator")} == \
        set(DRIFT_THRESHOLDS)


@pytest.mark.parametrize("older,newer", [(a.parent.name, b.parent.name)
                                         for a, b in zip(SPAN_FILES, SPAN_FILES[1:])])
def test_consecutive_spans_pass_the_drift_gate(older, newer, schema, span_stats):
    rows = drift_rows(span_stats[newer], span_stats[older], schema)
    assert {name: (r["measure"], r["threshold"]) for name, r in rows.items()} == DRIFT_THRESHOLDS
    assert [r for r in rows.values() if not r["passed"]] == []


def test_trip_miles_scaled_five_fold_drifts(schema, span_stats, tmp_path):
    lines = SPAN_FILES[1].read_text().splitlines(keepends=True)
    column = lines[0].strip().split(",").index("trip_miles")
    scaled = [lines[0]]
    for row in lines[1:]:
        cells = row.rstrip("\n").split(",")
        if cells[column]:
            cells[column] = repr(float(cells[column]) * 5)
        scaled.append(",".join(cells) + "\n")
    stats = stats_for(scaled, tmp_path / "scaled.csv")
    assert anomalies(stats, schema) == {}  # types and ranges still fit the schema
    rows = drift_rows(stats, span_stats[SPAN_FILES[0].parent.name], schema)
    assert [name for name, r in rows.items() if not r["passed"]] == ["trip_miles"]


def feature(schema, name):
    return tfdv.get_feature(schema, name)


def anomalies(stats, schema, environment="TRAINING"):
    result = tfdv.validate_statistics(stats, schema, environment=environment)
    found = {name: info.description for name, info in result.anomaly_info.items()}
    if result.HasField("dataset_anomaly_info"):
        found["<dataset>"] = result.dataset_anomaly_info.description
    return found


MIN_EXAMPLES = 500


def test_minimum_examples_per_split(schema, csv_lines, tmp_path):
    """ExampleValidator validates each split on its own, so the minimum applies per split."""
    header, rows = csv_lines
    assert schema.dataset_constraints.min_examples_count == MIN_EXAMPLES
    result = tfdv.validate_statistics(
        stats_for([header] + rows[:MIN_EXAMPLES - 1], tmp_path / "small.csv"), schema,
        environment="TRAINING")
    reasons = [r.type for r in result.dataset_anomaly_info.reason]
    assert reasons == [anomalies_pb2.AnomalyInfo.DATASET_LOW_NUM_EXAMPLES]
    # TFDV does not say the minimum; the gate's describer adds it from the anomalies' baseline.
    from tabflow.artifacts.anomalies import describe_anomalies
    [line] = describe_anomalies({"eval": result})
    assert line == ("dataset (eval split): The dataset has 499 examples, which is fewer than "
                    "expected. (the schema's minimum is 500 per split)")
    enough = stats_for([header] + rows[:MIN_EXAMPLES], tmp_path / "enough.csv")
    assert "<dataset>" not in anomalies(enough, schema)


@pytest.mark.parametrize("span", [p.parent.name for p in SPAN_FILES])
def test_a_third_of_every_span_is_enough_for_the_eval_split(span, schema, tmp_path):
    """CsvExampleGen hashes a span 2:1 into train and eval: a third of a committed span must
    pass the minimum with room to spare."""
    lines = (REPO / "data" / "taxi" / "spans" / span / "data.csv").read_text().splitlines(keepends=True)
    third = lines[1::3]
    assert len(third) >= 2 * MIN_EXAMPLES
    assert anomalies(stats_for([lines[0]] + third, tmp_path / "third.csv"), schema) == {}


def stats_for(lines, path: Path):
    path.write_text("".join(lines))
    return tfdv.generate_statistics_from_csv(str(path))


# --- structure ---------------------------------------------------------------


def test_all_eighteen_columns_with_decoder_types(schema, csv_lines):
    header, _ = csv_lines
    assert [f.name for f in schema.feature] == header.strip().split(",")
    types = {f.name: schema_pb2.FeatureType.Name(f.type) for f in schema.feature}
    assert types["fare"] == "FLOAT" and types["tips"] == "FLOAT"
    assert types["trip_seconds"] == "INT" and types["pickup_community_area"] == "INT"
    assert types["payment_type"] == "BYTES" and types["company"] == "BYTES"


def test_payment_type_domain_is_closed(schema):
    payment = feature(schema, "payment_type")
    domain = tfdv.get_domain(schema, "payment_type")
    assert payment.WhichOneof("domain_info") == "domain"
    assert sorted(domain.value) == PAYMENT_TYPES


def test_company_is_open(schema):
    assert feature(schema, "company").WhichOneof("domain_info") is None
    assert "company" not in {d.name for d in schema.string_domain}


def test_tips_is_not_in_serving(schema):
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    assert list(feature(schema, "tips").not_in_environment) == ["SERVING"]
    others = [f.name for f in schema.feature if f.not_in_environment and f.name != "tips"]
    assert others == []


def test_meaningful_ranges(schema):
    def int_range(name):
        d = feature(schema, name).int_domain
        return d.min, d.max

    assert int_range("trip_start_hour") == (0, 23)
    assert int_range("trip_start_day") == (1, 7)
    assert int_range("trip_start_month") == (1, 12)
    assert int_range("pickup_community_area") == (1, 77)
    assert int_range("dropoff_community_area") == (1, 77)
    for name in ["fare", "tips", "trip_miles"]:
        assert feature(schema, name).float_domain.min == 0.0
    assert feature(schema, "trip_seconds").int_domain.min == 0


# An INT column with no value in a split gets min 0 in CsvExampleGen's statistics, so a
# feature that most splits lack cannot have a range (schema/README.md).
UNRANGED = {"pickup_census_tract"}


def test_every_numeric_feature_has_a_range_and_floats_disallow_nan_and_inf(schema):
    for f in schema.feature:
        if f.name in UNRANGED:
            assert not f.HasField("int_domain"), f.name
            continue
        if f.type == schema_pb2.FLOAT:
            d = f.float_domain
            assert d.HasField("min") and d.HasField("max"), f.name
            assert d.disallow_nan and d.disallow_inf, f.name
        elif f.type == schema_pb2.INT:
            assert f.int_domain.HasField("min") and f.int_domain.HasField("max"), f.name


def test_unbounded_quantities_follow_the_widening_rule(schema, csv_lines):
    """schema/README.md: 10x the largest value seen, rounded up to two significant digits;
    the typical max 4x the 90th percentile, rounded up the same way (the proposal's rule)."""
    import pandas as pd
    header, rows = csv_lines
    data = pd.read_csv(io.StringIO(header + "".join(rows)))
    for name in ["fare", "tips", "trip_miles", "trip_seconds"]:
        f = feature(schema, name)
        domain = f.int_domain if f.type == schema_pb2.INT else f.float_domain
        assert domain.max == sp._round_outward(10 * data[name].max(), True), name
    ranges = span_values.typical_ranges(schema)
    assert set(ranges) == {"fare", "tips", "trip_seconds"}
    for name, typical in ranges.items():
        p90 = data[name].quantile(0.9)
        assert typical.max == sp._round_outward(sp.TYPICAL_P90_FACTOR * p90, True), name


# CsvExampleGen's decoder (tfx_bsl _InferValueType + float()) turns these cells of a float
# column into float NaN / inf, as TFDV's CSV reader does here.
PATHOLOGIES = [
    ("fare", "NaN", "Float feature has NaN values."),
    ("fare", "nan", "Float feature has NaN values."),
    ("trip_miles", "inf", "Float feature has Inf values."),
    ("tips", "-inf", "Float feature has Inf values."),
    ("pickup_latitude", "NaN", "Float feature has NaN values."),
    ("fare", "1e12", "Unexpectedly high value: 1e+12>7100"),
    ("fare", "1e40", "Float feature has Inf values."),  # beyond float32: inf
    ("trip_seconds", "-60", "Unexpectedly small value: -60."),
    ("trip_seconds", "NaN", "Expected data of type: INT but got FLOAT"),
    ("trip_start_timestamp", "1431353700000", "Unexpectedly large value: 1431353700000."),
    ("dropoff_census_tract", "42", "Unexpectedly small value: 42."),
]


def with_cell(lines, column, value, every=10):
    header, rows = lines[0], lines[1:]
    index = header.strip().split(",").index(column)
    edited = [header]
    for i, row in enumerate(rows):
        cells = row.rstrip("\n").split(",")
        if i % every == 0:
            cells[index] = value
        edited.append(",".join(cells) + "\n")
    return edited


@pytest.mark.parametrize("column,value,reason", PATHOLOGIES,
                         ids=[f"{c}={v}" for c, v, _ in PATHOLOGIES])
def test_value_pathologies_are_anomalies(column, value, reason, schema, tmp_path):
    lines = SPAN_FILES[-1].read_text().splitlines(keepends=True)
    stats = stats_for(with_cell(lines, column, value), tmp_path / "bad.csv")
    result = tfdv.validate_statistics(stats, schema, environment="TRAINING")
    assert set(result.anomaly_info) == {column}
    descriptions = [r.description for r in result.anomaly_info[column].reason]
    assert any(reason in d for d in descriptions), descriptions


def test_without_the_flags_tfdv_passes_nan_and_inf(schema, tmp_path):
    """Why the flags are there: the same NaN and inf cells pass a schema without them."""
    lenient = schema_pb2.Schema()
    lenient.CopyFrom(schema)
    for f in lenient.feature:
        if f.type != schema_pb2.FLOAT:
            continue
        f.float_domain.ClearField("disallow_nan")
        f.float_domain.ClearField("disallow_inf")
        f.float_domain.ClearField("max")
    lines = SPAN_FILES[-1].read_text().splitlines(keepends=True)
    for value in ("NaN", "inf", "1e12"):
        stats = stats_for(with_cell(lines, "fare", value), tmp_path / "bad.csv")
        assert anomalies(stats, lenient) == {}, value


def span_columns(path):
    import pandas as pd
    data = pd.read_csv(path)
    return {c: data[c].to_numpy(dtype=float) for c in data.columns
            if data[c].dtype.kind in "if"}


@pytest.mark.parametrize("span", [p.parent.name for p in SPAN_FILES])
def test_every_span_passes_the_gate_value_checks(span, schema):
    """The AnomalyGate's outlier-share and label checks, at the default settings, pass every
    committed span; every tenth value of any typical-range feature scaled 10x is stopped."""
    from modules import hooks
    gates = dataset.load(REPO / "data" / "taxi")
    columns = span_columns(REPO / "data" / "taxi" / "spans" / span / "data.csv")
    ranges = span_values.typical_ranges(schema)
    assert span_values.outlier_problems(columns, ranges, gates.max_outlier_share) == []
    labels = hooks.load(gates.hooks).label_from_raw(columns)
    assert span_values.label_problems(labels, gates.label, gates.problem_type, gates.classes,
                                      gates.min_label_share) == []
    for name in ranges:
        scaled = dict(columns)
        scaled[name] = columns[name].copy()
        scaled[name][::10] *= 10
        [problem] = span_values.outlier_problems(scaled, ranges, gates.max_outlier_share)
        assert problem.startswith(f"feature '{name}': "), problem


def test_file_is_in_canonical_order_apart_from_comments():
    # Keeps `tabflow schema propose` diffs down to real changes (plus
    # removed comments). If this fails, reorder fields to match
    # sp.schema_to_text(load_schema(SCHEMA_PATH)); comments may stay.
    raw = SCHEMA_PATH.read_text().splitlines(keepends=True)
    stripped = "".join(
        line for line in raw if line.strip() and not line.lstrip().startswith("#")
    )
    assert stripped == sp.schema_to_text(load_schema(SCHEMA_PATH))


# --- validation against data ------------------------------------------------------


def test_full_data_has_no_anomalies(schema, full_stats):
    assert anomalies(full_stats, schema) == {}


def test_deterministic_two_to_one_split_has_no_anomalies(schema, csv_lines, tmp_path):
    header, rows = csv_lines
    train = [r for i, r in enumerate(rows) if i % 3 != 2]
    evaluation = [r for i, r in enumerate(rows) if i % 3 == 2]
    assert len(train) + len(evaluation) == len(rows) == 15002
    # The only row with a pickup_census_tract lands in train, so evaluation
    # checks the loosened presence of that column.
    assert anomalies(stats_for([header] + train, tmp_path / "train.csv"), schema) == {}
    assert anomalies(stats_for([header] + evaluation, tmp_path / "eval.csv"), schema) == {}


def test_serving_data_without_tips(schema, csv_lines, tmp_path):
    header, rows = csv_lines
    assert header.rstrip("\n").endswith(",tips")
    serving = [line.rstrip("\n").rsplit(",", 1)[0] + "\n" for line in [header] + rows]
    stats = stats_for(serving, tmp_path / "serving.csv")
    assert anomalies(stats, schema, environment="SERVING") == {}
    assert set(anomalies(stats, schema, environment="TRAINING")) == {"tips"}


def test_unknown_payment_type_is_an_anomaly(schema, csv_lines, tmp_path):
    header, rows = csv_lines
    column = header.strip().split(",").index("payment_type")
    edited = []
    for i, row in enumerate(rows):
        if i % 10 == 0:
            cells = row.rstrip("\n").split(",")
            cells[column] = "Bitcoin"
            row = ",".join(cells) + "\n"
        edited.append(row)
    stats = stats_for([header] + edited, tmp_path / "bitcoin.csv")
    result = tfdv.validate_statistics(stats, schema, environment="TRAINING")
    assert set(result.anomaly_info) == {"payment_type"}
    info = result.anomaly_info["payment_type"]
    assert "Bitcoin" in info.description
    reasons = [r.type for r in info.reason]
    assert anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES in reasons


def test_proposal_from_same_data_changes_nothing(schema, full_stats):
    inferred = tfdv.infer_schema(full_stats)
    proposed, changes = sp.propose_update(schema, inferred)
    assert changes == []
    # Every curated numeric feature already has the value constraints the statistics give.
    assert sp.propose_update(schema, inferred, full_stats.datasets[0])[1] == []
    assert sp.unified_diff(
        sp.schema_to_text(schema), sp.schema_to_text(proposed), "curated", "proposed"
    ) == ""
