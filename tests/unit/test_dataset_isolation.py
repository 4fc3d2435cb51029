"""No dataset's column, label or value is named outside its folder: not in the packages every
dataset runs through, nor in the tests, benchmarks, notebooks' code or set-up of the project.
Only documentation (Markdown, and notebooks' prose cells) may tell the taxi's story; everything
else takes names from the spec, the curated schema or the feature plan."""
import json
import os
import re
from pathlib import Path

import pytest

from modules import hooks
from tabflow import dataset
from tabflow.artifacts.schema import load_schema

REPO = Path(__file__).resolve().parents[2]
CORE = ("tabflow", "pipeline", "modules", "runners")
TAXI = REPO / "data" / "taxi"
# Generated, installed or written by runs: nobody writes these by hand.
# benchmarks/results holds what a measurement recorded (the benchmarks run on the taxi, and its
# model table names the taxi's slice), written by the scripts: a record, like the docs.
NOT_SOURCES = {".git", ".venv", "outputs", "build", "dist", "__pycache__", ".ipynb_checkpoints",
               "results"}
TEXT_SUFFIXES = {".py", ".ipynb", ".yaml", ".yml", ".ini", ".cfg", ".toml", ".sh", ".pbtxt",
                 ".json", ".in", ""}


def _taxi_words():
    spec = dataset.load(str(TAXI))
    columns = {f.name for f in load_schema(TAXI / "schema.pbtxt").feature}
    # The label its hooks derive, the values its spec gates on, and the inputs the hooks derive,
    # also by the stem of their first two words (a_b of a_b_c_xf and a_b_d_xf).
    derived = {name[:-len("_xf")] if name.endswith("_xf") else name
               for name in hooks.load(spec.hooks).derived_sizes()}
    stems = {"_".join(name.split("_")[:2]) for name in derived}
    gated = {str(s.value) for s in spec.gated_slices}
    return sorted(columns | {spec.label} | gated | derived | stems)


def _named(text, words):
    return sorted({word for word in words
                   if re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", text)})


def _core_files():
    for package in CORE:
        yield from sorted((REPO / package).rglob("*.py"))


def _project_files():
    for folder, subfolders, files in os.walk(REPO):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if d not in NOT_SOURCES
                               and here / d != TAXI and not (here == REPO and d in CORE))
        for name in sorted(files):
            if Path(name).suffix in TEXT_SUFFIXES:
                yield here / name


def _code_of(path: Path) -> str:
    """What a file says that is not documentation: a notebook's code cells, any other file
    whole (Markdown files are not listed at all)."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    try:
        return path.read_text()
    except UnicodeDecodeError:
        return ""


def test_the_taxi_words_are_what_its_folder_names():
    # Checked against the taxi's own files, so that this file need not name them either.
    words = _taxi_words()
    spec = dataset.load(str(TAXI))
    assert len(words) > len(load_schema(TAXI / "schema.pbtxt").feature) + 3
    assert {spec.label, *spec.report_slices} <= set(_named((TAXI / "hooks.py").read_text()
                                                           + (TAXI / "dataset.yaml").read_text(),
                                                           words))
    assert [s.value for s in spec.gated_slices] and all(
        str(s.value) in words for s in spec.gated_slices)


@pytest.mark.parametrize("path", list(_core_files()), ids=lambda p: str(p.relative_to(REPO)))
def test_no_core_module_names_a_taxi_column_or_value(path):
    found = _named(path.read_text(), _taxi_words())
    assert not found, f"{path.relative_to(REPO)} names {found}: that belongs in data/taxi/"


def test_nothing_but_docs_names_a_taxi_column_or_value_outside_its_folder():
    words = _taxi_words()
    found = {str(path.relative_to(REPO)): names for path in _project_files()
             if (names := _named(_code_of(path), words))}
    assert found == {}, ("these take the taxi's names from its spec, schema or plan, or move "
                         f"into data/taxi/: {found}")


def test_the_scan_sees_the_tests_benchmarks_and_notebooks():
    scanned = {str(p.relative_to(REPO)) for p in _project_files()}
    assert {"tests/e2e/conftest.py", "benchmarks/benchmark.py", "setup.py",
            "notebooks/model_review.ipynb"} <= scanned
    assert not any(name.startswith(("data/taxi/", ".venv/")) for name in scanned)
