"""The core knows no dataset: no column, label or value of the taxi data is named outside its
folder (data/taxi), in code, strings or comments of the packages every dataset runs through."""
import re
from pathlib import Path

import pytest

from tabflow.artifacts.schema import load_schema

REPO = Path(__file__).resolve().parents[2]
CORE = ("tabflow", "pipeline", "modules", "runners")
TAXI = REPO / "data" / "taxi"


def _taxi_words():
    columns = {f.name for f in load_schema(TAXI / "schema.pbtxt").feature}
    # The label the taxi's hooks derive, a value its spec gates on, and its derived inputs.
    return sorted(columns | {"big_tipper", "Credit Card", "fare_tip", "tipper"})


def _core_files():
    for package in CORE:
        yield from sorted((REPO / package).rglob("*.py"))


def test_the_taxi_words_are_real_columns():
    words = _taxi_words()
    assert {"fare", "tips", "payment_type", "trip_start_hour", "company"} <= set(words)


@pytest.mark.parametrize("path", list(_core_files()), ids=lambda p: str(p.relative_to(REPO)))
def test_no_core_module_names_a_taxi_column_or_value(path):
    text = path.read_text()
    found = sorted({word for word in _taxi_words()
                    if re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text)})
    assert not found, f"{path.relative_to(REPO)} names {found}: that belongs in data/taxi/"
