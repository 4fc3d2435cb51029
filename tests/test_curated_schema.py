"""The curated schema/schema.pbtxt against the real data, validated with TFDV."""

from pathlib import Path

import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from artifacts.schema import load_schema
from pipeline import schema_proposal as sp

REPO = Path(__file__).resolve().parents[1]
SCHEMA_PATH = REPO / "schema" / "schema.pbtxt"
SPAN_FILES = sorted((REPO / "data" / "spans").glob("span-*/data.csv"))

PAYMENT_TYPES = ["Cash", "Credit Card", "Dispute", "No Charge", "Pcard", "Prcard", "Unknown"]


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


@pytest.mark.parametrize("span", [p.parent.name for p in SPAN_FILES])
def test_every_span_validates_cleanly(span, schema):
    stats = tfdv.generate_statistics_from_csv(str(REPO / "data" / "spans" / span / "data.csv"))
    assert anomalies(stats, schema) == {}


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
    from artifacts.anomalies import describe_anomalies
    [line] = describe_anomalies({"eval": result})
    assert line == ("dataset (eval split): The dataset has 499 examples, which is fewer than "
                    "expected. (the schema's minimum is 500 per split)")
    enough = stats_for([header] + rows[:MIN_EXAMPLES], tmp_path / "enough.csv")
    assert "<dataset>" not in anomalies(enough, schema)


@pytest.mark.parametrize("span", [p.parent.name for p in SPAN_FILES])
def test_a_third_of_every_span_is_enough_for_the_eval_split(span, schema, tmp_path):
    """CsvExampleGen hashes a span 2:1 into train and eval: a third of a committed span must
    pass the minimum with room to spare."""
    lines = (REPO / "data" / "spans" / span / "data.csv").read_text().splitlines(keepends=True)
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
        assert not feature(schema, name).float_domain.HasField("max")
    for name in ["trip_start_timestamp", "pickup_census_tract", "dropoff_census_tract"]:
        assert feature(schema, name).WhichOneof("domain_info") is None, name


def test_file_is_in_canonical_order_apart_from_comments():
    # Keeps `taxi-pipeline schema propose` diffs down to real changes (plus
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
    assert sp.unified_diff(
        sp.schema_to_text(schema), sp.schema_to_text(proposed), "curated", "proposed"
    ) == ""
