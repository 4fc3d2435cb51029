"""Transformed feature names and the settings the transform and the model share. Which column
gets which transform is the feature plan's (pipeline/feature_plan.py), passed in
custom_config["plan"]; a dataset's own inputs come from its hooks module (modules/hooks.py).

Pure python: the plan builder imports it without TensorFlow.
"""
from typing import Dict, List, Tuple

# String columns: the most frequent VOCAB_SIZE values get ids, the rest (and values never seen
# in the analysis) hash into OOV_BUCKETS.
VOCAB_SIZE = 1000
OOV_BUCKETS = 10


def transformed_name(key: str) -> str:
    return f"{key}_xf"


def model_inputs(plan: dict, derived_sizes: Dict[str, int]) -> Tuple[List[str], Dict[str, int]]:
    """(dense input names, {categorical input name: category count}): what the model takes,
    in a stable order, each group the plan's columns first, then the hooks' derived inputs
    (derived_sizes: {name: categories, or 0 for a dense one})."""
    dense = [transformed_name(k) for k in plan["dense"]]
    categorical = {transformed_name(k): int(size) for k, size in plan["categorical_int"].items()}
    # One more bucket than the count: a missing value has its own.
    categorical.update({transformed_name(k): int(count) + 1
                        for k, count in plan["bucketize"].items()})
    categorical.update({transformed_name(k): VOCAB_SIZE + OOV_BUCKETS
                        for k in plan["vocabulary"]})
    for name, size in derived_sizes.items():
        if size:
            categorical[name] = int(size)
        else:
            dense.append(name)
    return dense, categorical


def model_input_names(plan: dict, derived_sizes: Dict[str, int]) -> List[str]:
    dense, categorical = model_inputs(plan, derived_sizes)
    return dense + list(categorical)
