"""Tests for pipeline.schema_proposal on real Schema protos (no TFDV needed)."""

import os
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from tabflow.artifacts.schema import load_schema
from pipeline import schema_proposal as sp
from pipeline import span_values

REPO = Path(__file__).resolve().parents[3]
CURATED_FILE = REPO / "data" / "taxi" / "schema.pbtxt"

CURATED_TEXT = """
# a comment, as in the real curated file
default_environment: "TRAINING"
default_environment: "SERVING"
feature {
  name: "trip_start_hour"
  type: INT
  int_domain { min: 0 max: 23 }
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "payment_type"
  type: BYTES
  domain: "payment_type"
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "company"
  type: BYTES
  value_count { min: 1 max: 1 }
  presence { min_count: 1 }
}
feature {
  name: "tips"
  type: FLOAT
  float_domain { min: 0.0 }
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
  not_in_environment: "SERVING"
}
string_domain {
  name: "payment_type"
  value: "Cash"
  value: "Credit Card"
}
"""

# What tfdv.infer_schema would say about the same data: no ranges, a closed
# domain for company, no environments.
INFERRED_SAME_TEXT = """
feature {
  name: "trip_start_hour"
  type: INT
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "payment_type"
  type: BYTES
  domain: "payment_type"
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "company"
  type: BYTES
  domain: "company"
  value_count { min: 1 max: 1 }
  presence { min_count: 1 }
}
feature {
  name: "tips"
  type: FLOAT
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
string_domain { name: "payment_type" value: "Cash" value: "Credit Card" }
string_domain { name: "company" value: "Flash Cab" value: "Taxi Affiliation Services" }
"""


def parse(text: str) -> schema_pb2.Schema:
    return text_format.Parse(text, schema_pb2.Schema())


def feature(schema: schema_pb2.Schema, name: str) -> schema_pb2.Feature:
    matches = [f for f in schema.feature if f.name == name]
    assert len(matches) == 1, name
    return matches[0]


def string_domain(schema: schema_pb2.Schema, name: str) -> schema_pb2.StringDomain:
    matches = [d for d in schema.string_domain if d.name == name]
    assert len(matches) == 1, name
    return matches[0]


@pytest.fixture
def curated():
    return parse(CURATED_TEXT)


@pytest.fixture
def inferred():
    return parse(INFERRED_SAME_TEXT)


# --- load / text ----------------------------------------------------------


def test_load_schema_reads_text_proto_with_comments(tmp_path):
    path = tmp_path / "schema.pbtxt"
    path.write_text(CURATED_TEXT)
    schema = load_schema(path)
    assert schema == parse(CURATED_TEXT)
    assert load_schema(str(path)) == schema


def test_load_schema_parse_error_names_the_file(tmp_path):
    path = tmp_path / "broken.pbtxt"
    path.write_text('feature { name: "x" type: NOT_A_TYPE }\n')
    with pytest.raises(ValueError, match="broken.pbtxt"):
        load_schema(path)


def test_schema_to_text_round_trips(curated):
    text = sp.schema_to_text(curated)
    assert "#" not in text
    assert parse(text) == curated


def test_real_curated_schema_file_loads():
    schema = load_schema(CURATED_FILE)
    assert {f.name for f in schema.feature} >= {"fare", "tips", "payment_type"}


# --- propose_update ---------------------------------------------------------


def test_no_changes_gives_empty_change_list_and_empty_diff(curated, inferred):
    proposed, changes = sp.propose_update(curated, inferred)
    assert changes == []
    assert proposed == curated
    diff = sp.unified_diff(
        sp.schema_to_text(curated), sp.schema_to_text(proposed), "curated", "proposed"
    )
    assert diff == ""


def test_curated_ranges_presence_and_environments_are_kept(curated, inferred):
    # The inferred schema is looser (no ranges) and closes `company`; none of
    # that must leak into the proposal.
    proposed, _ = sp.propose_update(curated, inferred)
    hour = feature(proposed, "trip_start_hour")
    assert (hour.int_domain.min, hour.int_domain.max) == (0, 23)
    assert feature(proposed, "tips").not_in_environment == ["SERVING"]
    assert list(proposed.default_environment) == ["TRAINING", "SERVING"]
    assert feature(proposed, "company").WhichOneof("domain_info") is None
    assert "company" not in {d.name for d in proposed.string_domain}


def test_inputs_are_not_modified(curated, inferred):
    string_domain(inferred, "payment_type").value.append("Bitcoin")
    inferred.feature.add(name="tolls", type=schema_pb2.FLOAT)
    before_c, before_i = sp.schema_to_text(curated), sp.schema_to_text(inferred)
    sp.propose_update(curated, inferred)
    assert sp.schema_to_text(curated) == before_c
    assert sp.schema_to_text(inferred) == before_i


def test_new_feature_is_added_as_inferred(curated, inferred):
    tolls = inferred.feature.add()
    text_format.Parse(
        'name: "tolls" type: FLOAT presence { min_count: 1 } '
        "value_count { min: 1 max: 1 }",
        tolls,
    )
    proposed, changes = sp.propose_update(curated, inferred)
    assert feature(proposed, "tolls") == tolls
    assert [f.name for f in proposed.feature][-1] == "tolls"
    assert len(changes) == 1
    assert "'tolls'" in changes[0] and "new" in changes[0] and "FLOAT" in changes[0]


def test_new_string_feature_brings_its_domain_without_clobbering(curated):
    # A new string column with its own top-level domain.
    inferred_new = parse(
        """
        feature { name: "trip_start_hour" type: INT }
        feature { name: "payment_type" type: BYTES domain: "payment_type" }
        feature { name: "company" type: BYTES }
        feature { name: "tips" type: FLOAT }
        feature { name: "tolls_kind" type: BYTES domain: "tolls_kind" }
        string_domain { name: "payment_type" value: "Cash" value: "Credit Card" }
        string_domain { name: "tolls_kind" value: "I-PASS" value: "cash" }
        """
    )
    proposed, changes = sp.propose_update(curated, inferred_new)
    assert feature(proposed, "tolls_kind").domain == "tolls_kind"
    assert list(string_domain(proposed, "tolls_kind").value) == ["I-PASS", "cash"]
    assert list(string_domain(proposed, "payment_type").value) == ["Cash", "Credit Card"]
    assert len(changes) == 1 and "'tolls_kind'" in changes[0]

    # Name collision: the new feature's domain is renamed, the curated one kept.
    colliding = parse(
        """
        feature { name: "trip_start_hour" type: INT }
        feature { name: "payment_type" type: BYTES domain: "payment_type" }
        feature { name: "company" type: BYTES }
        feature { name: "tips" type: FLOAT }
        feature { name: "payment_method" type: BYTES domain: "pm" }
        string_domain { name: "payment_type" value: "Cash" value: "Credit Card" }
        string_domain { name: "pm" value: "x" }
        """
    )
    curated_with_pm = parse(CURATED_TEXT)
    curated_with_pm.string_domain.add(name="pm", value=["unrelated"])
    proposed, _ = sp.propose_update(curated_with_pm, colliding)
    assert list(string_domain(proposed, "pm").value) == ["unrelated"]
    new_name = feature(proposed, "payment_method").domain
    assert new_name != "pm"
    assert list(string_domain(proposed, new_name).value) == ["x"]


def test_missing_feature_is_kept_and_reported(curated, inferred):
    inferred.feature.remove(feature(inferred, "company"))
    proposed, changes = sp.propose_update(curated, inferred)
    assert feature(proposed, "company") == feature(curated, "company")
    assert proposed == curated
    assert len(changes) == 1
    assert "'company'" in changes[0] and "absent" in changes[0]


def test_type_change_adopts_inferred_type_and_converts_range(curated, inferred):
    feature(inferred, "trip_start_hour").type = schema_pb2.FLOAT
    proposed, changes = sp.propose_update(curated, inferred)
    hour = feature(proposed, "trip_start_hour")
    assert hour.type == schema_pb2.FLOAT
    assert hour.WhichOneof("domain_info") == "float_domain"
    assert (hour.float_domain.min, hour.float_domain.max) == (0.0, 23.0)
    assert changes[0] == (
        "feature 'trip_start_hour': type changed from INT to FLOAT "
        "(adopted inferred type)"
    )
    assert "float_domain" in changes[1]
    assert len(changes) == 2


def test_type_change_to_bytes_drops_numeric_range(curated, inferred):
    feature(inferred, "tips").type = schema_pb2.BYTES
    proposed, changes = sp.propose_update(curated, inferred)
    tips = feature(proposed, "tips")
    assert tips.type == schema_pb2.BYTES
    assert tips.WhichOneof("domain_info") is None
    assert tips.not_in_environment == ["SERVING"]  # rest of the curation kept
    assert "FLOAT to BYTES" in changes[0]
    assert "float_domain dropped" in changes[1]


def test_new_domain_values_widen_closed_domain_one_change_each(curated, inferred):
    string_domain(inferred, "payment_type").value.extend(["Prcard", "Bitcoin"])
    proposed, changes = sp.propose_update(curated, inferred)
    assert list(string_domain(proposed, "payment_type").value) == [
        "Cash",
        "Credit Card",
        "Bitcoin",
        "Prcard",
    ]
    assert changes == [
        "feature 'payment_type': new value 'Bitcoin' added to string domain 'payment_type'",
        "feature 'payment_type': new value 'Prcard' added to string domain 'payment_type'",
    ]
    # The rest of the curated schema is untouched.
    rest = parse(sp.schema_to_text(proposed))
    string_domain(rest, "payment_type").ClearField("value")
    string_domain(rest, "payment_type").value.extend(["Cash", "Credit Card"])
    assert rest == curated


def test_values_missing_from_inferred_domain_are_not_removed(curated, inferred):
    # Absence of a value in a new sample is not evidence that it is invalid.
    string_domain(inferred, "payment_type").ClearField("value")
    string_domain(inferred, "payment_type").value.append("Cash")
    proposed, changes = sp.propose_update(curated, inferred)
    assert changes == []
    assert proposed == curated


def test_inline_string_domain_is_widened(curated, inferred):
    cur_pt = feature(curated, "payment_type")
    cur_pt.string_domain.value.extend(["Cash"])
    inf_pt = feature(inferred, "payment_type")
    inf_pt.string_domain.value.extend(["Cash", "Voucher"])
    proposed, changes = sp.propose_update(curated, inferred)
    assert list(feature(proposed, "payment_type").string_domain.value) == ["Cash", "Voucher"]
    assert changes == ["feature 'payment_type': new value 'Voucher' added to its string domain"]


def test_output_is_deterministic(curated, inferred):
    string_domain(inferred, "payment_type").value.extend(["Zeta", "Alpha"])
    feature(inferred, "tips").type = schema_pb2.INT
    inferred.feature.add(name="b_new", type=schema_pb2.INT)
    inferred.feature.add(name="a_new", type=schema_pb2.FLOAT)
    inferred.feature.remove(feature(inferred, "company"))
    first = sp.propose_update(curated, inferred)
    second = sp.propose_update(parse(CURATED_TEXT), parse(sp.schema_to_text(inferred)))
    assert sp.schema_to_text(first[0]) == sp.schema_to_text(second[0])
    assert first[1] == second[1]
    # curated order first, then new features in inferred order
    names = [c.split("'")[1] for c in first[1]]
    assert names == ["payment_type", "payment_type", "company", "tips", "tips", "b_new", "a_new"]


# --- unified_diff -----------------------------------------------------------


def test_unified_diff_shows_changes_with_names(curated, inferred):
    string_domain(inferred, "payment_type").value.append("Bitcoin")
    proposed, _ = sp.propose_update(curated, inferred)
    diff = sp.unified_diff(
        sp.schema_to_text(curated), sp.schema_to_text(proposed), "schema.pbtxt", "proposed.pbtxt"
    )
    assert diff.startswith("--- schema.pbtxt\n+++ proposed.pbtxt\n")
    assert '+  value: "Bitcoin"\n' in diff
    assert not [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]


def test_unified_diff_identical_and_missing_final_newline():
    assert sp.unified_diff("a\nb\n", "a\nb\n", "x", "y") == ""
    diff = sp.unified_diff("a\nb", "a\nc", "x", "y")
    assert "-b\n" in diff and "+c\n" in diff


# --- write_proposal ---------------------------------------------------------


def _write_inputs(tmp_path, inferred_text=INFERRED_SAME_TEXT):
    curated_path = tmp_path / "schema.pbtxt"
    curated_path.write_text(CURATED_TEXT)
    inferred_path = tmp_path / "inferred.pbtxt"
    inferred_path.write_text(inferred_text)
    return curated_path, inferred_path


def test_write_proposal_writes_out_path_only(tmp_path):
    inferred = parse(INFERRED_SAME_TEXT)
    string_domain(inferred, "payment_type").value.append("Bitcoin")
    curated_path, inferred_path = _write_inputs(tmp_path, sp.schema_to_text(inferred))
    out_path = tmp_path / "proposals" / "schema.proposed.pbtxt"

    changes = sp.write_proposal(curated_path, inferred_path, out_path)

    assert changes == [
        "feature 'payment_type': new value 'Bitcoin' added to string domain 'payment_type'"
    ]
    assert curated_path.read_text() == CURATED_TEXT
    proposed = load_schema(out_path)
    assert "Bitcoin" in string_domain(proposed, "payment_type").value


def test_write_proposal_without_changes_writes_curated_equivalent(tmp_path):
    curated_path, inferred_path = _write_inputs(tmp_path)
    out_path = tmp_path / "proposed.pbtxt"
    assert sp.write_proposal(curated_path, inferred_path, out_path) == []
    assert load_schema(out_path) == parse(CURATED_TEXT)


def test_write_proposal_refuses_to_overwrite_curated(tmp_path):
    curated_path, inferred_path = _write_inputs(tmp_path, "feature { name: 'x' type: INT }")
    with pytest.raises(ValueError, match="curated"):
        sp.write_proposal(curated_path, inferred_path, curated_path)
    # Same file spelled differently: relative path, `..` and a symlink.
    with pytest.raises(ValueError):
        sp.write_proposal(curated_path, inferred_path, os.path.relpath(curated_path))
    (tmp_path / "sub").mkdir()
    with pytest.raises(ValueError):
        sp.write_proposal(curated_path, inferred_path, tmp_path / "sub" / ".." / "schema.pbtxt")
    link = tmp_path / "link.pbtxt"
    os.symlink(curated_path, link)
    with pytest.raises(ValueError):
        sp.write_proposal(curated_path, inferred_path, link)
    assert curated_path.read_text() == CURATED_TEXT


# --- value constraints from statistics ------------------------------------------------


def numeric_stats(name, low, high, p90, nan=0, quantile_buckets=10, values=1000):
    from tensorflow_metadata.proto.v0 import statistics_pb2
    stats = statistics_pb2.DatasetFeatureStatistics()
    feature = stats.features.add()
    feature.path.step.append(name)
    feature.num_stats.min, feature.num_stats.max = low, high
    feature.num_stats.common_stats.num_non_missing = values
    histogram = feature.num_stats.histograms.add(type=statistics_pb2.Histogram.QUANTILES,
                                                 num_nan=nan)
    for i in range(quantile_buckets):
        histogram.buckets.add(low_value=low, sample_count=10,
                              high_value=p90 if i == quantile_buckets - 2 else
                              (high if i == quantile_buckets - 1 else low))
    return stats


def test_new_numeric_feature_gets_range_nan_flags_and_typical_max(curated, inferred):
    inferred.feature.add(name="toll", type=schema_pb2.FLOAT)
    proposed, changes = sp.propose_update(curated, inferred,
                                          numeric_stats("toll", 0.0, 700.07, 27.9))
    domain = feature(proposed, "toll").float_domain
    assert (domain.min, domain.max) == (0.0, 7100.0)
    assert domain.disallow_nan and domain.disallow_inf
    [typical] = span_values.typical_ranges(proposed).values()
    assert typical.max == 120.0
    assert any("'toll'" in c and "typical max 120" in c for c in changes), changes


def test_signed_feature_range_widens_both_sides_without_typical(curated, inferred):
    inferred.feature.add(name="lon", type=schema_pb2.FLOAT)
    proposed, _ = sp.propose_update(curated, inferred,
                                    numeric_stats("lon", -87.91, -87.54, -87.6))
    domain = feature(proposed, "lon").float_domain
    assert domain.min < -87.91 * 1.03 and domain.max > -87.54 * 0.97
    assert domain.min == pytest.approx(-92.0) and domain.max == pytest.approx(-84.0)
    assert span_values.typical_ranges(proposed) == {}


def test_nan_in_the_data_leaves_the_flags_off(curated, inferred):
    inferred.feature.add(name="toll", type=schema_pb2.FLOAT)
    proposed, _ = sp.propose_update(curated, inferred,
                                    numeric_stats("toll", 0.0, 10.0, 5.0, nan=3))
    domain = feature(proposed, "toll").float_domain
    assert domain.HasField("max") and not domain.disallow_nan and not domain.disallow_inf


def test_curated_ranges_are_kept_and_only_missing_constraints_proposed(curated, inferred):
    # Curated tips: min 0, no max, no flags; the data's negative minimum does not move the min.
    proposed, changes = sp.propose_update(curated, inferred,
                                          numeric_stats("tips", -3.0, 47.0, 3.11))
    domain = feature(proposed, "tips").float_domain
    assert domain.min == 0.0 and domain.max == 500.0
    assert domain.disallow_nan and domain.disallow_inf
    assert span_values.typical_ranges(proposed) == {}
    assert changes == ["feature 'tips': value constraints from the statistics: max 500.0, "
                       "disallow_nan, disallow_inf"]
    # Run again on the proposal: nothing left to add.
    assert sp.propose_update(proposed, inferred, numeric_stats("tips", -3.0, 47.0, 3.11))[1] == []


def test_write_proposal_reads_statistics_file(tmp_path):
    from tensorflow_metadata.proto.v0 import statistics_pb2
    curated_path, inferred_path = tmp_path / "curated.pbtxt", tmp_path / "inferred.pbtxt"
    curated_path.write_text(CURATED_TEXT)
    inferred = parse(INFERRED_SAME_TEXT)
    inferred.feature.add(name="toll", type=schema_pb2.INT)
    inferred_path.write_text(sp.schema_to_text(inferred))
    stats_path = tmp_path / "FeatureStats.pb"
    stats_path.write_bytes(statistics_pb2.DatasetFeatureStatisticsList(
        datasets=[numeric_stats("toll", 0, 50, 5)]).SerializeToString())
    sp.write_proposal(curated_path, inferred_path, tmp_path / "out.pbtxt", stats_path)
    domain = feature(parse((tmp_path / "out.pbtxt").read_text()), "toll").int_domain
    assert (domain.min, domain.max) == (0, 500)


def test_a_feature_with_too_few_values_gets_no_range(curated, inferred):
    """A range from a handful of values says nothing, and in a split holding none of them the
    statistics give an INT column min 0, which a range would report as an anomaly."""
    inferred.feature.add(name="tract", type=schema_pb2.INT)
    proposed, changes = sp.propose_update(
        curated, inferred, numeric_stats("tract", 17031081401, 17031081401, 17031081401,
                                         values=sp.MIN_VALUES_FOR_RANGE - 1))
    assert not feature(proposed, "tract").HasField("int_domain")
    assert not any("value constraints" in change for change in changes if "tract" in change)
