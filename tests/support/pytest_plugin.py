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


# Fixtures of tests/e2e/conftest.py that hold shared pipeline runs, and the files whose tests
# use them: these files run on one worker, so the runs are made once per session, not once per
# worker. The scheduler sees only test ids, so the files are listed; collection checks the
# list against the fixtures each test really uses.
SHARED_RUNS = {"three_runs", "beam_runs"}
SHARED_GROUP = "shared-runs"
SHARED_FILES = frozenset(f"tests/e2e/{name}.py" for name in (
    "test_airflow", "test_beam", "test_code_edit_e2e", "test_health_page", "test_lineage_e2e",
    "test_local_pipeline", "test_notebook_in_browser", "test_openlineage_e2e",
    "test_registry_e2e", "test_resume_e2e", "test_review_notebook", "test_review_report",
    "test_run_end_e2e"))

# The Dagster and Prefect files read the shared Local runs only to compare outcomes with them:
# they run together on another worker, which makes those Local runs again (about 3 min), instead
# of adding their own 12 min to the shared unit, the longest already.
ORCHESTRATOR_GROUP = "orchestrator-runs"
ORCHESTRATOR_FILES = frozenset(f"tests/e2e/{name}.py" for name in ("test_dagster", "test_prefect"))

LONGEST_FIRST = (
    SHARED_GROUP,
    ORCHESTRATOR_GROUP,
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


def _group_of(nodeid: str) -> str:
    """The unit a worker runs whole: a test file, all the files sharing the runs, or the
    orchestrators' files."""
    path = nodeid.split("::", 1)[0]
    return (SHARED_GROUP if path in SHARED_FILES else
            ORCHESTRATOR_GROUP if path in ORCHESTRATOR_FILES else path)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than there are cores (at most 5). Most end-to-end tests keep
    at most one core busy and much of their time wait on a subprocess (an Airflow scheduler's
    polls, a notebook kernel, a browser, a database starting): measured with two workers on two
    cores, the CPUs were half idle while the Airflow scheduler test ran."""
    return min((os.cpu_count() or 1) + 1, 5)


def pytest_xdist_make_scheduler(config, log):
    """Whole files per worker as --dist loadfile, with the shared-runs files as one unit and
    the orchestrators' files as another."""
    from xdist.scheduler import LoadScopeScheduling

    class SharedRunsScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group_of(nodeid)

    return SharedRunsScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Workers take the units (tests/support/pytest_plugin.py: _group_of) in this order: the
    longest first, then the other end-to-end files, then unit tests, so that the many short unit
    files fill the end instead of one long file running alone."""
    unlisted = sorted({item.nodeid.split("::", 1)[0] for item in items
                       if SHARED_RUNS & set(item.fixturenames)}
                      - SHARED_FILES - ORCHESTRATOR_FILES)
    if unlisted:
        raise pytest.UsageError(f"{', '.join(unlisted)} use the shared e2e runs: add them to "
                                "SHARED_FILES in tests/support/pytest_plugin.py")
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    position = {}
    for index, item in enumerate(items):
        position.setdefault(_group_of(item.nodeid), index)

    def key(item):
        group = _group_of(item.nodeid)
        return (rank.get(group, len(rank)), 0 if item.get_closest_marker("e2e") else 1,
                position[group])
    items.sort(key=key)
