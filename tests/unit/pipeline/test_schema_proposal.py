"""Tests for pipeline.schema_proposal on real Schema protos (no TFDV needed)."""

import os
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from tabflow import dataset
from tabflow.artifacts.schema import load_schema
from pipeline import schema_proposal as sp
from pipeline import span_values

REPO = Path(__file__).resolve().parents[3]
DATASETS = sorted(p.parent for p in (REPO / "data").glob(f"*/{dataset.SPEC_FILE}"))

CURATED_TEXT = """
# a comment, as in the real curated file
default_environment: "TRAINING"
default_environment: "SERVING"
feature {
  name: "hour"
  type: INT
  int_domain { min: 0 max: 23 }
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "kind"
  type: BYTES
  domain: "kind"
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "region"
  type: BYTES
  value_count { min: 1 max: 1 }
  presence { min_count: 1 }
}
feature {
  name: "amount"
  type: FLOAT
  float_domain { min: 0.0 }
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
  not_in_environment: "SERVING"
}
string_domain {
  name: "kind"
  value: "Basic"
  value: "Extra Large"
}
"""

# What tfdv.infer_schema would say about the same data: no ranges, a closed
# domain for region, no environments.
INFERRED_SAME_TEXT = """
feature {
  name: "hour"
  type: INT
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "kind"
  type: BYTES
  domain: "kind"
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
feature {
  name: "region"
  type: BYTES
  domain: "region"
  value_count { min: 1 max: 1 }
  presence { min_count: 1 }
}
feature {
  name: "amount"
  type: FLOAT
  presence { min_fraction: 1.0 min_count: 1 }
  shape { dim { size: 1 } }
}
string_domain { name: "kind" value: "Basic" value: "Extra Large" }
string_domain { name: "region" value: "North Side" value: "South Side" }
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
    # The inferred schema is looser (no ranges) and closes `region`; none of
    # that must leak into the proposal.
    proposed, _ = sp.propose_update(curated, inferred)
    hour = feature(proposed, "hour")
    assert (hour.int_domain.min, hour.int_domain.max) == (0, 23)
    assert feature(proposed, "amount").not_in_environment == ["SERVING"]
    assert list(proposed.default_environment) == ["TRAINING", "SERVING"]
    assert feature(proposed, "region").WhichOneof("domain_info") is None
    assert "region" not in {d.name for d in proposed.string_domain}


def test_inputs_are_not_modified(curated, inferred):
    string_domain(inferred, "kind").value.append("Bitcoin")
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
        feature { name: "hour" type: INT }
        feature { name: "kind" type: BYTES domain: "kind" }
        feature { name: "region" type: BYTES }
        feature { name: "amount" type: FLOAT }
        feature { name: "tolls_kind" type: BYTES domain: "tolls_kind" }
        string_domain { name: "kind" value: "Basic" value: "Extra Large" }
        string_domain { name: "tolls_kind" value: "I-PASS" value: "manual" }
        """
    )
    proposed, changes = sp.propose_update(curated, inferred_new)
    assert feature(proposed, "tolls_kind").domain == "tolls_kind"
    assert list(string_domain(proposed, "tolls_kind").value) == ["I-PASS", "manual"]
    assert list(string_domain(proposed, "kind").value) == ["Basic", "Extra Large"]
    assert len(changes) == 1 and "'tolls_kind'" in changes[0]

    # Name collision: the new feature's domain is renamed, the curated one kept.
    colliding = parse(
        """
        feature { name: "hour" type: INT }
        feature { name: "kind" type: BYTES domain: "kind" }
        feature { name: "region" type: BYTES }
        feature { name: "amount" type: FLOAT }
        feature { name: "kind_code" type: BYTES domain: "kc" }
        string_domain { name: "kind" value: "Basic" value: "Extra Large" }
        string_domain { name: "kc" value: "x" }
        """
    )
    curated_with_kc = parse(CURATED_TEXT)
    curated_with_kc.string_domain.add(name="kc", value=["unrelated"])
    proposed, _ = sp.propose_update(curated_with_kc, colliding)
    assert list(string_domain(proposed, "kc").value) == ["unrelated"]
    new_name = feature(proposed, "kind_code").domain
    assert new_name != "kc"
    assert list(string_domain(proposed, new_name).value) == ["x"]


def test_missing_feature_is_kept_and_reported(curated, inferred):
    inferred.feature.remove(feature(inferred, "region"))
    proposed, changes = sp.propose_update(curated, inferred)
    assert feature(proposed, "region") == feature(curated, "region")
    assert proposed == curated
    assert len(changes) == 1
    assert "'region'" in changes[0] and "absent" in changes[0]


def test_type_change_adopts_inferred_type_and_converts_range(curated, inferred):
    feature(inferred, "hour").type = schema_pb2.FLOAT
    proposed, changes = sp.propose_update(curated, inferred)
    hour = feature(proposed, "hour")
    assert hour.type == schema_pb2.FLOAT
    assert hour.WhichOneof("domain_info") == "float_domain"
    assert (hour.float_domain.min, hour.float_domain.max) == (0.0, 23.0)
    assert changes[0] == (
        "feature 'hour': type changed from INT to FLOAT "
        "(adopted inferred type)"
    )
    assert "float_domain" in changes[1]
    assert len(changes) == 2


def test_type_change_to_bytes_drops_numeric_range(curated, inferred):
    feature(inferred, "amount").type = schema_pb2.BYTES
    proposed, changes = sp.propose_update(curated, inferred)
    amount = feature(proposed, "amount")
    assert amount.type == schema_pb2.BYTES
    assert amount.WhichOneof("domain_info") is None
    assert amount.not_in_environment == ["SERVING"]  # rest of the curation kept
    assert "FLOAT to BYTES" in changes[0]
    assert "float_domain dropped" in changes[1]


def test_new_domain_values_widen_closed_domain_one_change_each(curated, inferred):
    string_domain(inferred, "kind").value.extend(["Prepaid", "Bitcoin"])
    proposed, changes = sp.propose_update(curated, inferred)
    assert list(string_domain(proposed, "kind").value) == [
        "Basic",
        "Extra Large",
        "Bitcoin",
        "Prepaid",
    ]
    assert changes == [
        "feature 'kind': new value 'Bitcoin' added to string domain 'kind'",
        "feature 'kind': new value 'Prepaid' added to string domain 'kind'",
    ]
    # The rest of the curated schema is untouched.
    rest = parse(sp.schema_to_text(proposed))
    string_domain(rest, "kind").ClearField("value")
    string_domain(rest, "kind").value.extend(["Basic", "Extra Large"])
    assert rest == curated


def test_values_missing_from_inferred_domain_are_not_removed(curated, inferred):
    # Absence of a value in a new sample is not evidence that it is invalid.
    string_domain(inferred, "kind").ClearField("value")
    string_domain(inferred, "kind").value.append("Basic")
    proposed, changes = sp.propose_update(curated, inferred)
    assert changes == []
    assert proposed == curated


def test_inline_string_domain_is_widened(curated, inferred):
    cur_kind = feature(curated, "kind")
    cur_kind.string_domain.value.extend(["Basic"])
    inf_kind = feature(inferred, "kind")
    inf_kind.string_domain.value.extend(["Basic", "Voucher"])
    proposed, changes = sp.propose_update(curated, inferred)
    assert list(feature(proposed, "kind").string_domain.value) == ["Basic", "Voucher"]
    assert changes == ["feature 'kind': new value 'Voucher' added to its string domain"]


def test_output_is_deterministic(curated, inferred):
    string_domain(inferred, "kind").value.extend(["Zeta", "Alpha"])
    feature(inferred, "amount").type = schema_pb2.INT
    inferred.feature.add(name="b_new", type=schema_pb2.INT)
    inferred.feature.add(name="a_new", type=schema_pb2.FLOAT)
    inferred.feature.remove(feature(inferred, "region"))
    first = sp.propose_update(curated, inferred)
    second = sp.propose_update(parse(CURATED_TEXT), parse(sp.schema_to_text(inferred)))
    assert sp.schema_to_text(first[0]) == sp.schema_to_text(second[0])
    assert first[1] == second[1]
    # curated order first, then new features in inferred order
    names = [c.split("'")[1] for c in first[1]]
    assert names == ["kind", "kind", "region", "amount", "amount", "b_new", "a_new"]


# --- unified_diff -----------------------------------------------------------


def test_unified_diff_shows_changes_with_names(curated, inferred):
    string_domain(inferred, "kind").value.append("Bitcoin")
    proposed, _ = sp.propose_update(curated, inferred)
    diff = sp.unified_diff(
        sp.schema_to_text(curated), sp.schema_to_text(proposed), "schema.pbtxt", "proposed.pbtxt"
    )
    assert diff.startswith("--- schema.pbtxt\n+++ proposed.pbtxt\n")
    assert '+  value: "Bitcoin"\n' in diff
    assert not [line for line in diff.splitlines()
                if line.startswith("-") and not line.startswith("---")]


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
    string_domain(inferred, "kind").value.append("Bitcoin")
    curated_path, inferred_path = _write_inputs(tmp_path, sp.schema_to_text(inferred))
    out_path = tmp_path / "proposals" / "schema.proposed.pbtxt"

    changes = sp.write_proposal(curated_path, inferred_path, out_path)

    assert changes == [
        "feature 'kind': new value 'Bitcoin' added to string domain 'kind'"
    ]
    assert curated_path.read_text() == CURATED_TEXT
    proposed = load_schema(out_path)
    assert "Bitcoin" in string_domain(proposed, "kind").value


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
    # Curated amount: min 0, no max, no flags; the data's negative minimum does not move the min.
    proposed, changes = sp.propose_update(curated, inferred,
                                          numeric_stats("amount", -3.0, 47.0, 3.11))
    domain = feature(proposed, "amount").float_domain
    assert domain.min == 0.0 and domain.max == 500.0
    assert domain.disallow_nan and domain.disallow_inf
    assert span_values.typical_ranges(proposed) == {}
    assert changes == ["feature 'amount': value constraints from the statistics: max 500.0, "
                       "disallow_nan, disallow_inf"]
    # Run again on the proposal: nothing left to add.
    again = numeric_stats("amount", -3.0, 47.0, 3.11)
    assert sp.propose_update(proposed, inferred, again)[1] == []


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


# --- the shipped curated schemas -------------------------------------------------------------
# The rules above on real curated files, each dataset's own features picked by type and domain.


def shipped_schema(folder: Path) -> schema_pb2.Schema:
    return load_schema(folder / dataset.SCHEMA_FILE)


def copy_of(schema: schema_pb2.Schema) -> schema_pb2.Schema:
    copy = schema_pb2.Schema()
    copy.CopyFrom(schema)
    return copy


def ranged_float(f: schema_pb2.Feature) -> bool:
    domain = f.float_domain
    return f.type == schema_pb2.FLOAT and domain.HasField("min") and domain.HasField("max") \
        and domain.disallow_nan and domain.disallow_inf


def ranged_int(f: schema_pb2.Feature) -> bool:
    return f.type == schema_pb2.INT and f.int_domain.HasField("min") \
        and f.int_domain.HasField("max")


def closed_string(f: schema_pb2.Feature) -> bool:
    closed = f.WhichOneof("domain_info") in ("domain", "string_domain")
    return f.type == schema_pb2.BYTES and closed


def first_of(kind) -> list:
    """(folder, name of the first feature of `kind`) of each shipped dataset that has one."""
    cases = []
    for folder in DATASETS:
        names = [f.name for f in shipped_schema(folder).feature if kind(f)]
        if names:
            cases.append(pytest.param(folder, names[0], id=f"{folder.name}-{names[0]}"))
    return cases


RANGED_FLOATS, RANGED_INTS = first_of(ranged_float), first_of(ranged_int)
CLOSED_STRINGS = first_of(closed_string)


def others(schema: schema_pb2.Schema, name: str) -> list:
    return [f for f in schema.feature if f.name != name]


def domain_of(schema: schema_pb2.Schema, f: schema_pb2.Feature) -> schema_pb2.StringDomain:
    if f.WhichOneof("domain_info") == "string_domain":
        return f.string_domain
    return string_domain(schema, f.domain)


def test_the_shipped_schemas_have_every_kind_of_feature_the_tests_pick():
    assert {"taxi", "penguins", "diabetes"} <= {folder.name for folder in DATASETS}
    assert RANGED_FLOATS and RANGED_INTS and CLOSED_STRINGS


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_a_shipped_schema_loads_with_every_column_its_spec_names(folder):
    spec = dataset.load(str(folder))
    names = [f.name for f in shipped_schema(folder).feature]
    assert names and len(names) == len(set(names))
    named = {*spec.exclude, *spec.label_sources, *spec.bucketize, *spec.report_slices,
             *(s.column for s in spec.gated_slices)}
    # A label the hooks derive is no column.
    assert named | ({spec.label} if not spec.hooks else set()) <= set(names)


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_a_shipped_schema_round_trips_and_proposes_nothing_against_itself(folder):
    schema = shipped_schema(folder)
    assert parse(sp.schema_to_text(schema)) == schema
    proposed, changes = sp.propose_update(schema, copy_of(schema))
    assert changes == [] and proposed == schema


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_a_shipped_schemas_curation_survives_a_looser_inference(folder):
    # What TFDV infers from the same data: no ranges, annotations, drift comparators or
    # environments, and a closed domain for every string column.
    schema = shipped_schema(folder)
    inferred = copy_of(schema)
    inferred.ClearField("default_environment")
    for f in inferred.feature:
        for field in ("int_domain", "float_domain", "annotation", "drift_comparator",
                      "not_in_environment"):
            f.ClearField(field)
        if f.type == schema_pb2.BYTES and f.WhichOneof("domain_info") is None:
            f.domain = f.name
            inferred.string_domain.add(name=f.name, value=["seen"])
    proposed, changes = sp.propose_update(schema, inferred)
    assert changes == [] and proposed == schema


@pytest.mark.parametrize("folder,name", RANGED_INTS)
def test_a_shipped_int_range_becomes_a_float_range_on_a_type_change(folder, name):
    schema = shipped_schema(folder)
    inferred = copy_of(schema)
    feature(inferred, name).type = schema_pb2.FLOAT
    proposed, changes = sp.propose_update(schema, inferred)
    expected = schema_pb2.Feature()
    expected.CopyFrom(feature(schema, name))
    expected.type = schema_pb2.FLOAT
    low, high = expected.int_domain.min, expected.int_domain.max
    expected.float_domain.min, expected.float_domain.max = float(low), float(high)
    assert feature(proposed, name) == expected  # the rest of its curation kept
    assert changes == [
        f"feature '{name}': type changed from INT to FLOAT (adopted inferred type)",
        f"feature '{name}': int_domain converted to float_domain with the same range"]
    assert others(proposed, name) == others(schema, name)


@pytest.mark.parametrize("folder,name", RANGED_FLOATS)
def test_a_shipped_float_range_is_dropped_on_a_type_change_to_bytes(folder, name):
    schema = shipped_schema(folder)
    inferred = copy_of(schema)
    feature(inferred, name).type = schema_pb2.BYTES
    proposed, changes = sp.propose_update(schema, inferred)
    expected = schema_pb2.Feature()
    expected.CopyFrom(feature(schema, name))
    expected.type = schema_pb2.BYTES
    expected.ClearField("float_domain")
    assert feature(proposed, name) == expected  # the rest of its curation kept
    assert changes == [
        f"feature '{name}': type changed from FLOAT to BYTES (adopted inferred type)",
        f"feature '{name}': float_domain dropped (does not fit the new type); review its range"]
    assert others(proposed, name) == others(schema, name)


@pytest.mark.parametrize("folder,name", CLOSED_STRINGS)
def test_a_shipped_closed_domain_is_widened_by_new_values_one_change_each(folder, name):
    schema = shipped_schema(folder)
    inferred = copy_of(schema)
    curated_values = list(domain_of(schema, feature(schema, name)).value)
    domain_of(inferred, feature(inferred, name)).value.extend(["~new two", "~new one"])
    proposed, changes = sp.propose_update(schema, inferred)
    domain = domain_of(proposed, feature(proposed, name))
    assert list(domain.value) == curated_values + ["~new one", "~new two"]
    curated_feature = feature(schema, name)
    where = f"string domain '{curated_feature.domain}'" \
        if curated_feature.WhichOneof("domain_info") == "domain" else "its string domain"
    assert changes == [f"feature '{name}': new value '{value}' added to {where}"
                       for value in ("~new one", "~new two")]
    # The rest of the curated schema is untouched.
    del domain.value[len(curated_values):]
    assert proposed == schema


@pytest.mark.parametrize("folder,name", RANGED_FLOATS + RANGED_INTS)
def test_a_shipped_numeric_range_leaves_nothing_to_propose_from_statistics(folder, name):
    # Statistics far outside the curated range: a curated constraint is never moved.
    schema = shipped_schema(folder)
    f = feature(schema, name)
    domain = f.float_domain if f.type == schema_pb2.FLOAT else f.int_domain
    low, high = domain.min - 1, 2 * abs(domain.max) + 1
    stats = numeric_stats(name, low, high, (low + high) / 2)
    proposed, changes = sp.propose_update(schema, copy_of(schema), stats)
    assert changes == [] and proposed == schema
