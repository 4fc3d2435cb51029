"""modules.features and modules.hooks against every shipped dataset's spec, schema and first
span (each column read, excluded or a label source; slices and category sizes), and loading a
dataset's hooks module. The taxi's own inputs and label rule are data/taxi/tests'."""
import csv
import sys
from pathlib import Path

import pytest

from modules import features as F
from modules import hooks as H
from pipeline.feature_plan import build_plan
from tabflow import dataset
from tabflow.artifacts.schema import load_schema

REPO = Path(__file__).resolve().parents[3]
DATASETS = sorted(p.parent.name for p in (REPO / "data").glob("*/dataset.yaml"))


@pytest.fixture(scope="module", params=DATASETS)
def shipped(request):
    """(spec, schema features by name, plan, first span's CSV header) of one shipped dataset."""
    spec = dataset.load(str(REPO / "data" / request.param))
    schema = load_schema(spec.schema_path)
    first = sorted(Path(spec.data_root).glob("span-*"), key=lambda p: int(p.name[5:]))[0]
    with open(next(first.glob("*.csv")), newline="") as f:
        header = next(csv.reader(f))
    return spec, {f.name: f for f in schema.feature}, build_plan(spec, schema), header


def plan_columns(plan):
    return (plan["dense"] + list(plan["categorical_int"]) + list(plan["bucketize"])
            + plan["vocabulary"])


def test_three_datasets_ship():
    assert len(DATASETS) >= 3


def test_every_csv_column_is_accounted_for(shipped):
    spec, _, plan, header = shipped
    # A label the hooks derive is no column of the data; any other is.
    label = set() if spec.hooks else {spec.label}
    known = set(plan_columns(plan)) | set(spec.exclude) | set(spec.label_sources) | label
    assert set(header) == known
    assert (spec.label in header) != bool(spec.hooks)


def test_the_label_and_its_sources_are_not_model_inputs(shipped):
    spec, features, plan, header = shipped
    inputs = plan_columns(plan)
    assert spec.label not in inputs
    for key in spec.label_sources:
        assert key not in inputs
        assert key in header and key in features


def test_slice_columns_are_csv_columns(shipped):
    spec, _, _, header = shipped
    assert set(spec.report_slices) <= set(header)
    assert {s.column for s in spec.gated_slices} <= set(header)


def test_category_sizes_cover_schema_domains(shipped):
    # Clipping to [0, size-1] must not merge valid values.
    _, features, plan, _ = shipped
    for key, size in plan["categorical_int"].items():
        domain = features[key].int_domain
        assert domain.min >= 0 and domain.max <= size - 1, key


def test_model_inputs_are_the_plans_columns_and_unique(shipped):
    _, _, plan, _ = shipped
    names = F.model_input_names(plan, H.derived_sizes(plan))
    assert len(names) == len(set(names))
    assert {F.transformed_name(c) for c in plan_columns(plan)} <= set(names)
    # Stable order: the same list on every call.
    assert names == F.model_input_names(plan, H.derived_sizes(plan))


def test_transformed_name():
    assert F.transformed_name("amount") == "amount_xf"
    assert F.transformed_name("bill length (mm)") == "bill length (mm)_xf"


def write_hooks(folder, text):
    folder.mkdir()
    path = folder / "hooks.py"
    path.write_text(text)
    return path


def test_hooks_of_two_datasets_do_not_collide(tmp_path):
    first = write_hooks(tmp_path / "one", "VALUE = 'one'\n")
    second = write_hooks(tmp_path / "two", "VALUE = 'two'\n")
    a, b = H.load(str(first)), H.load(str(second))
    assert (a.VALUE, b.VALUE) == ("one", "two")
    assert a.__name__ != b.__name__
    assert sys.modules[a.__name__] is a and sys.modules[b.__name__] is b
    # Loaded once per process, whichever way the path is spelled.
    assert H.load(str(tmp_path / "one" / ".." / "one" / "hooks.py")) is a


def test_missing_hooks_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"hooks\.py: hooks file not found$"):
        H.load(str(tmp_path / "hooks.py"))


def test_hooks_that_fail_to_import_are_not_cached(tmp_path):
    path = write_hooks(tmp_path / "bad", "raise RuntimeError('broken')\n")
    with pytest.raises(RuntimeError, match="broken"):
        H.load(str(path))
    assert H.module_name(str(path)) not in sys.modules
    path.write_text("VALUE = 1\n")
    assert H.load(str(path)).VALUE == 1


def test_derived_sizes_without_hooks():
    assert H.derived_sizes({"hooks": None}) == {}
    assert H.of({"hooks": None}) is None
