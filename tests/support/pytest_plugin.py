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
_KEPT_ENV = "TABFLOW_TEST_KEPT_FILES"


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """End-to-end files first, unit tests after. Each file runs whole on one worker
    (--dist loadfile) and workers take files in this order, so the long files start at once and
    the many short unit files fill the end instead of one long file running alone."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("e2e") else 1)
