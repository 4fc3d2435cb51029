"""modules.transform.preprocessing_fn run through TFT's real Beam implementation on datasets with
no code of their own (multiclass, regression), from schemas built here. The taxi's plan, with
its hooks, is data/taxi/tests/test_taxi_transform.py's."""
import numpy as np
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from modules import features as F
from pipeline.feature_plan import build_plan
from tabflow import dataset
from tests.support.transform import analyze_and_transform

XF = F.transformed_name


def column(rows, key):
    return np.array([r[key] for r in rows])


# --- datasets without hooks ------------------------------------------------------------------

def schema_of(features):
    """A schema of {name: (type, required, extra text)}; an optional feature may be missing."""
    text = ""
    for name, (kind, required, extra) in features.items():
        shape = ("shape { dim { size: 1 } } presence { min_fraction: 1.0 }" if required
                 else "value_count { max: 1 }")
        text += f'feature {{ name: "{name}" type: {kind} {shape} {extra} }}\n'
    return text_format.Parse(text, schema_pb2.Schema())


def plan_for(tmp_path, raw_spec, schema):
    return build_plan(dataset.parse(raw_spec, str(tmp_path), str(tmp_path / "dataset.yaml")),
                      schema)


PENGUINS = schema_of({
    "species": ("BYTES", False, ""), "island": ("BYTES", True, ""), "sex": ("BYTES", False, ""),
    "bill_length_mm": ("FLOAT", False, ""),
    "body_mass_g": ("INT", False, "int_domain { min: 2700 max: 6300 }"),
})
PENGUIN_ROWS = [
    {"species": "Adelie", "island": "Torgersen", "sex": "male", "bill_length_mm": 39.1,
     "body_mass_g": 3750},
    {"species": "Adelie", "island": "Biscoe", "sex": None, "bill_length_mm": None,
     "body_mass_g": None},
    {"species": "Chinstrap", "island": "Dream", "sex": "female", "bill_length_mm": 46.5,
     "body_mass_g": 3500},
    {"species": "Gentoo", "island": "Biscoe", "sex": "female", "bill_length_mm": 46.1,
     "body_mass_g": 4500},
    {"species": "Gentoo", "island": "Biscoe", "sex": "male", "bill_length_mm": 50.0,
     "body_mass_g": 5700},
    {"species": "Chinstrap", "island": "Dream", "sex": None, "bill_length_mm": 49.0,
     "body_mass_g": 3800},
    {"species": "Adelie", "island": "Dream", "sex": "female", "bill_length_mm": 37.0,
     "body_mass_g": 3400},
]


_PENGUINS_RUN = {}


def penguins_run(tmp_path_factory):
    """PENGUIN_ROWS analyzed and transformed once per session (test_model serves a model on
    it)."""
    if not _PENGUINS_RUN:
        tmp = tmp_path_factory.mktemp("penguins")
        plan = plan_for(tmp, {"label": "species", "problem_type": "multiclass",
                              "classes": ["Adelie", "Chinstrap", "Gentoo"]}, PENGUINS)
        _PENGUINS_RUN.update(plan=plan, **analyze_and_transform(PENGUIN_ROWS, tmp, PENGUINS, plan))
    return _PENGUINS_RUN


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    return penguins_run(tmp_path_factory)


def test_multiclass_label_is_the_class_position(penguins):
    rows = penguins["transformed"]
    assert set(rows[0]) == {"species_xf", "island_xf", "sex_xf", "bill_length_mm_xf",
                            "body_mass_g_xf"}
    labels = column(rows, "species_xf")
    assert transformed_dtypes(penguins)["species_xf"] == "int64"
    classes = penguins["plan"]["classes"]
    assert labels.tolist() == [classes.index(r["species"]) for r in PENGUIN_ROWS]


@pytest.mark.parametrize("key", ["bill_length_mm", "body_mass_g"])
def test_missing_numbers_take_the_mean(penguins, key):
    x = column(penguins["transformed"], XF(key)).astype(np.float64)
    missing = [i for i, r in enumerate(PENGUIN_ROWS) if r[key] is None]
    assert missing and np.allclose(x[missing], 0.0, atol=1e-6)
    assert abs(x.mean()) < 1e-5 and x.std() == pytest.approx(1.0, abs=1e-4)
    present = [i for i in range(len(PENGUIN_ROWS)) if i not in missing]
    raw = np.array([PENGUIN_ROWS[i][key] for i in present], dtype=float)
    np.testing.assert_allclose(np.argsort(x[present]), np.argsort(raw))


def test_missing_strings_share_an_oov_bucket(penguins):
    import tensorflow_transform as tft
    output = tft.TFTransformOutput(penguins["transform_dir"])
    vocab = [v.decode() for v in output.vocabulary_by_name("sex")]
    assert sorted(vocab) == ["female", "male"]
    ids = column(penguins["transformed"], "sex_xf")
    for r, i in zip(PENGUIN_ROWS, ids):
        if r["sex"] is None:
            assert len(vocab) <= i < len(vocab) + F.OOV_BUCKETS
        else:
            assert vocab[i] == r["sex"]


DIABETES = schema_of({
    "age": ("FLOAT", True, ""), "bmi": ("FLOAT", False, ""),
    "sex": ("INT", False, "int_domain { min: 1 max: 2 }"), "target": ("INT", True, ""),
})
DIABETES_ROWS = [
    {"age": 59.0, "bmi": 32.1, "sex": 2, "target": 151},
    {"age": 48.0, "bmi": None, "sex": 1, "target": 75},
    {"age": 72.0, "bmi": 30.5, "sex": None, "target": 141},
    {"age": 24.0, "bmi": 25.3, "sex": 1, "target": 206},
    {"age": 50.0, "bmi": 23.0, "sex": 2, "target": 135},
]


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diabetes")
    plan = plan_for(tmp, {"label": "target", "problem_type": "regression",
                          "thresholds": {"threshold": 60.0, "max_regression": 5.0}}, DIABETES)
    return {"plan": plan, **analyze_and_transform(DIABETES_ROWS, tmp, DIABETES, plan)}


def transformed_dtypes(run):
    import tensorflow_transform as tft
    spec = tft.TFTransformOutput(run["transform_dir"]).transformed_feature_spec()
    return {name: feature.dtype.name for name, feature in spec.items()}


def test_regression_label_is_float_in_its_units(diabetes):
    rows = diabetes["transformed"]
    assert set(rows[0]) == {"age_xf", "bmi_xf", "sex_xf", "target_xf"}
    assert transformed_dtypes(diabetes)["target_xf"] == "float32"
    assert column(rows, "target_xf").tolist() == [float(r["target"]) for r in DIABETES_ROWS]


def test_small_int_domain_is_an_identity(diabetes):
    assert diabetes["plan"]["categorical_int"] == {"sex": 3}
    ids = column(diabetes["transformed"], "sex_xf")
    assert ids.tolist() == [0 if r["sex"] is None else r["sex"] for r in DIABETES_ROWS]
    bmi = column(diabetes["transformed"], "bmi_xf")
    assert bmi[1] == pytest.approx(0.0, abs=1e-6)


# --- labels without analyzers: the preprocessing_fn runs eagerly -------------------------------

def eager_label(tmp_path, raw_spec, kind, values):
    """preprocessing_fn on a label-only dataset; None values are missing."""
    import tensorflow as tf
    from modules.transform import preprocessing_fn
    schema = schema_of({"y": (kind, False, "")})
    plan = plan_for(tmp_path, {"label": "y", **raw_spec}, schema)
    dtype = {"BYTES": tf.string, "INT": tf.int64, "FLOAT": tf.float32}[kind]
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    sparse = tf.SparseTensor([[i, 0] for i, _ in present],
                             tf.constant([v for _, v in present], dtype), [len(values), 1])
    out = preprocessing_fn({"y": sparse}, {"plan": plan})
    assert set(out) == {"y_xf"}
    return out["y_xf"].numpy()


@pytest.mark.parametrize("raw_spec,kind,values,want", [
    ({"problem_type": "binary"}, "INT", [0, 1, 1, None], [0, 1, 1, -1]),
    ({"problem_type": "binary", "classes": ["no", "yes"]}, "BYTES",
     ["yes", "no", "maybe", None], [1, 0, -1, -1]),
    ({"problem_type": "binary", "classes": [1, 2]}, "INT", [2, 1, 3], [1, 0, -1]),
    ({"problem_type": "multiclass", "classes": ["Adelie", "Chinstrap", "Gentoo"]}, "BYTES",
     ["Gentoo", "Emperor", None, "Adelie"], [2, -1, -1, 0]),
    ({"problem_type": "multiclass", "classes": [1, 2, 3.5]}, "FLOAT", [3.5, 1.0, 2.0],
     [2, 0, 1]),
])
def test_class_labels(tmp_path, raw_spec, kind, values, want):
    # A value outside the classes, or a missing one, has no class id (UNKNOWN_CLASS, -1).
    got = eager_label(tmp_path, raw_spec, kind, values)
    assert got.dtype == np.int64 and got.tolist() == want


def test_missing_regression_label_is_nan(tmp_path):
    got = eager_label(tmp_path, {"problem_type": "regression",
                                 "thresholds": {"threshold": 1.0, "max_regression": 0.1}},
                      "FLOAT", [2.5, None])
    assert got.dtype == np.float32 and got[0] == 2.5 and np.isnan(got[1])
