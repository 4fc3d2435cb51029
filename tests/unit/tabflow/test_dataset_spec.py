"""Dataset specs (tabflow/dataset.py): every shipped one loads, defaults follow the problem
type, and each mistake is one line naming the file and the key."""
from pathlib import Path

import pytest

from tabflow import dataset
from tabflow.config import PROJECT_ROOT

SHIPPED = {"taxi": "binary", "penguins": "multiclass", "diabetes": "regression"}


@pytest.mark.parametrize("name,problem_type", sorted(SHIPPED.items()))
def test_every_shipped_dataset_loads(name, problem_type):
    spec = dataset.load(PROJECT_ROOT / "data" / name)
    assert spec.name == name and spec.problem_type == problem_type
    assert Path(spec.schema_path).is_file() and Path(spec.data_root, "span-1").is_dir()
    assert spec.headline == dataset.HEADLINE[problem_type]


def _write(tmp_path, text: str) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir(exist_ok=True)
    (folder / "dataset.yaml").write_text(text)
    return folder


def test_defaults_follow_the_problem_type(tmp_path):
    spec = dataset.load(_write(tmp_path, "label: y\nproblem_type: binary\n"))
    assert (spec.name, spec.threshold, spec.max_regression) == ("mine", 0.6, 0.01)
    assert spec.splits == {"train": 3, "eval": 1, "test": 1}
    assert spec.headline.metric == "auc" and spec.headline.higher_is_better
    assert spec.data_root == str(tmp_path / "mine" / "spans")
    spec = dataset.load(_write(tmp_path, "label: y\nproblem_type: multiclass\n"
                                         "classes: [a, b, c]\n"))
    assert spec.headline.metric == "accuracy" and spec.threshold == 0.5
    spec = dataset.load(_write(tmp_path, "label: y\nproblem_type: regression\n"
                                         "thresholds: {threshold: 12.5, max_regression: 1}\n"))
    assert spec.headline.metric == "root_mean_squared_error"
    assert not spec.headline.higher_is_better and spec.threshold == 12.5


def test_run_settings_override_the_spec_gates():
    spec = dataset.load(PROJECT_ROOT / "data" / "taxi")
    assert spec.with_gates() == spec
    changed = spec.with_gates(threshold=0.9, max_slice_regression=0.5, min_label_share=0.1)
    assert changed.threshold == 0.9 and changed.min_label_share == 0.1
    assert [s.max_regression for s in changed.gated_slices] == [0.5]
    assert changed.max_regression == spec.max_regression


@pytest.mark.parametrize("text,names", [
    ("problem_type: binary\n", "label: is required"),
    ("label: y\nproblem_type: ranking\n", "problem_type: must be one of"),
    ("label: y\nproblem_type: multiclass\nclasses: [a, b]\n", "classes: a multiclass label"),
    ("label: y\nproblem_type: binary\nclasses: [a, b, c]\n", "classes: a binary label"),
    ("label: y\nproblem_type: regression\n", "thresholds: a regression dataset must set"),
    ("label: y\nproblem_type: binary\nthresholds: {threshold: 1.5}\n",
     "thresholds.threshold: must be <= 1.0"),
    ("label: y\nproblem_type: binary\nlabl: z\n", "labl: unknown key"),
    ("label: y\nproblem_type: binary\nfeatures: {exclude: [y]}\n",
     "features.exclude: names the label"),
    ("label: y\nproblem_type: binary\nfeatures: {bucketize: {x: 1}}\n",
     "features.bucketize.x: must be >= 2"),
    ("label: y\nproblem_type: binary\nsplits: {train: 3, eval: 1}\n", "splits: must give"),
    ("label: y\nproblem_type: binary\nslices: {gate: [{column: x}]}\n", "slices.gate[0]: must be"),
    ("label: y\nproblem_type: binary\nmin_examples: 0\n", "min_examples: must be >= 1"),
    ("label: y\nproblem_type: binary\ndata_gate: {min_label_share: 0.7}\n",
     "data_gate.min_label_share: must be <= 0.5"),
    ("label: y\nproblem_type: binary\nhooks: nope.py\n", "hooks: no such file"),
    ("label: [y\n", "not valid YAML"),
    ("- just\n- a list\n", "(top): must be a mapping"),
])
def test_each_mistake_is_one_line_naming_file_and_key(tmp_path, text, names):
    folder = _write(tmp_path, text)
    with pytest.raises(dataset.SpecError) as e:
        dataset.load(folder)
    message = str(e.value)
    assert "\n" not in message and str(folder / "dataset.yaml") in message
    assert names in message, message


def test_a_missing_folder_or_spec_is_named(tmp_path):
    with pytest.raises(dataset.SpecError, match="no such folder"):
        dataset.load(tmp_path / "nope")
    with pytest.raises(dataset.SpecError, match="dataset.yaml: missing"):
        dataset.load(tmp_path)
