"""Session-wide test set-up, loaded for every test folder (tests/ and each dataset's tests/) as
a plugin named in pytest.ini."""
# Must run before anything imports TensorFlow: sets TF_USE_LEGACY_KERAS=1 so tf.keras is tf-keras.
import modules  # noqa: F401  (pyflakes: see above)

import os
import tempfile
from pathlib import Path

import pytest

# Files a reviewer should look at after a run (screenshots, executed notebooks): listed at the
# end of pytest's output, so CI logs say where they are. The tests run in several worker
# processes (pytest-xdist), so each appends to one file the controlling process names and reads.
_KEPT_ENV = "PYTEST_KEPT_FILES_LIST"


@pytest.fixture(scope="session")
def keep_file():
    def keep(label: str, path) -> None:
        with open(os.environ[_KEPT_ENV], "a", encoding="utf-8") as listing:
            listing.write(f"{label}: {path}\n")
    return keep


def pytest_terminal_summary(terminalreporter):
    listing = Path(os.environ.get(_KEPT_ENV, ""))
    if listing.is_file() and listing.read_text():
        terminalreporter.section("files to look at")
        for line in listing.read_text().splitlines():
            terminalreporter.write_line(line)


def pytest_configure(config):
    # google-api-core (pulled in by TFX) warns on every import that Python 3.10 is unsupported.
    config.addinivalue_line(
        "filterwarnings", "ignore:You are using a non-supported Python version:FutureWarning")
    if not hasattr(config, "workerinput"):  # the controlling process; workers inherit the name
        handle, name = tempfile.mkstemp(prefix="kept-files-", suffix=".txt")
        os.close(handle)
        os.environ[_KEPT_ENV] = name


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        name = os.environ.pop(_KEPT_ENV, None)
        if name:
            Path(name).unlink(missing_ok=True)


# Fixtures of tests/e2e/conftest.py that hold shared pipeline runs: every test file that uses
# one runs on the same worker, so the runs are made once per session, not once per worker.
SHARED_RUNS = {"three_runs", "beam_runs"}
SHARED_GROUP = "shared-runs"

# The longest test files (and the shared-runs group), longest first, as `--durations=0`
# measured them on 2 cores: a worker that starts one of these early does not leave the other
# idle at the end. Only the order depends on this list; a file missing from it starts after
# the listed ones, end-to-end files before unit tests.
LONGEST_FIRST = (
    SHARED_GROUP,
    "data/taxi/tests/test_data_gate_matrix.py",
    "tests/e2e/test_airflow_scheduler.py",
    "tests/e2e/test_drift_gate_e2e.py",
    "tests/e2e/test_kubeflow_local_execution.py",
    "tests/e2e/test_datasets_e2e.py",
    "data/taxi/tests/test_curated_schema.py",
    "tests/e2e/test_mysql_store.py",
    "tests/e2e/test_portable_runner.py",
    "tests/e2e/test_walkthrough_notebook.py",
    "data/taxi/tests/test_taxi_transform.py",
)


def _file(item) -> str:
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Each test file runs whole on one worker (--dist loadgroup, one group per file, one for
    all users of the shared runs), and workers take the groups in this order: the longest
    first, then the other end-to-end files, then unit tests, so that the many short unit files
    fill the end instead of one long file running alone."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    sharing = {_file(item) for item in items if SHARED_RUNS & set(item.fixturenames)}
    groups = {id(item): SHARED_GROUP if _file(item) in sharing else _file(item)
              for item in items}
    position = {}
    for index, item in enumerate(items):
        position.setdefault(groups[id(item)], index)

    def key(item):
        group = groups[id(item)]
        return (rank.get(group, len(rank)), 0 if item.get_closest_marker("e2e") else 1,
                position[group])
    items.sort(key=key)
    for item in items:
        item.add_marker(pytest.mark.xdist_group(groups[id(item)]))
