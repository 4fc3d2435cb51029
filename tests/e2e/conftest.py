"""Shared real pipeline runs for the end-to-end tests.

One output root (pipeline root + SQLite MLMD) is run three times with a small config: a first
run; a retrained model (more train steps: Trainer, Evaluator and Pusher run again, judged
against the first model); and an unchanged rerun of the second, which is fully cached. The
scenario tests then add runs to the same store, each reading only what its own run wrote.
"""
import csv

import numpy as np
import pytest

from tabflow.metadata.store import open_store
from tabflow.config import PipelineConfig
from tests.support.pipeline_runs import (RETRAIN, SMALL, out, snapshot, span_csv,
                                         with_overrides, write_broken_column)
from tests.support.default_dataset import facts


@pytest.fixture(scope="session")
def e2e_config(tmp_path_factory) -> PipelineConfig:
    return PipelineConfig.from_flat(output_root=str(tmp_path_factory.mktemp("e2e")), **SMALL)


@pytest.fixture(scope="session")
def retrain_config(e2e_config) -> PipelineConfig:
    return with_overrides(e2e_config, **RETRAIN)


@pytest.fixture(scope="session")
def three_runs(e2e_config, retrain_config):
    from runners import local_runner
    return [snapshot(config, local_runner.run(config))
            for config in (e2e_config, retrain_config, retrain_config)]


@pytest.fixture(scope="session")
def store(e2e_config, three_runs):
    return open_store(e2e_config.store)


@pytest.fixture(scope="session")
def strict_run(retrain_config, three_runs):
    """A run whose model cannot be blessed: the second run's model, judged afresh against the
    first run's; everything else is cached.

    threshold differs from test_local_pipeline.py's 1.0 so that its own strict run still executes
    its Evaluator (same store, same inputs) whichever file runs first.
    """
    from runners import local_runner
    strict = with_overrides(retrain_config, threshold=0.9999)
    return snapshot(strict, local_runner.run(strict))


@pytest.fixture(scope="session")
def drifted_run(e2e_config, three_runs, tmp_path_factory):
    """A run on other data for the same span number, which the gate stops: only the rows whose
    float column (facts().float_column) lies in the upper third of the span's values, with
    the slice column broken in a third of them. Returns the run id."""
    from runners import local_runner
    span = out(three_runs[0], "CsvExampleGen", "examples").custom_properties["span"].int_value
    data = tmp_path_factory.mktemp("drifted")
    (data / f"span-{span}").mkdir()
    src, column = span_csv(e2e_config, span), facts().float_column
    with open(src, newline="") as f:
        cells = [float(row[column]) for row in csv.DictReader(f) if row[column]]
    # The upper third moves the column far enough that the run's statistics differ by more
    # than test_lineage_e2e.py asks for (the upper half would barely).
    cut = np.quantile(cells, 2 / 3)
    write_broken_column(src, data / f"span-{span}" / "data.csv",
                        keep=lambda row: bool(row[column]) and float(row[column]) >= cut)
    with pytest.raises(local_runner.PipelineFailed) as failed:
        local_runner.run(with_overrides(e2e_config, data_root=str(data)))
    assert failed.value.node_id == "AnomalyGate"
    return failed.value.run_id


@pytest.fixture(scope="session")
def beam_runs(tmp_path_factory):
    """The parity scenarios on BeamDagRunner, in a store of their own: a blessed run (every
    component executes), an unblessed one (threshold 0.9999: the Evaluator runs again, the rest
    is cached) and one stopped at the data gate (the slice column broken, same span).
    Returns (config, [blessed, unblessed, gate-failure run ids])."""
    from runners import beam_runner, local_runner
    root = tmp_path_factory.mktemp("beam")
    # Not e2e_config.replace(...): that keeps its derived paths (store, serving folder).
    config = PipelineConfig.from_flat(output_root=str(root / "out"), **SMALL)
    blessed = snapshot(config, beam_runner.run(config))
    unblessed = beam_runner.run(with_overrides(config, threshold=0.9999)).run_id
    span = out(blessed, "CsvExampleGen", "examples").custom_properties["span"].int_value
    (root / "broken" / f"span-{span}").mkdir(parents=True)
    write_broken_column(span_csv(config, span), root / "broken" / f"span-{span}" / "data.csv")
    with pytest.raises(local_runner.PipelineFailed) as failed:
        beam_runner.run(with_overrides(config, data_root=str(root / "broken")))
    assert failed.value.node_id == "AnomalyGate"
    return config, [blessed.run_id, unblessed, failed.value.run_id], blessed
