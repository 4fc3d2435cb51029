"""The end of a run: one summary of the run, read from a store opened once, feeds the alerts,
the metrics and the OpenLineage events."""
import json

from tabflow.config import PipelineConfig
from tests.support.mlmd_records import NODES, S, sqlite_writer


def test_the_store_is_opened_once_and_every_consumer_gets_the_run(tmp_path, monkeypatch):
    from runners import run_end
    from tabflow.metadata import store as store_module
    config = PipelineConfig.from_flat(output_root=str(tmp_path),
                                      openlineage_file=str(tmp_path / "events.jsonl"))
    writer = sqlite_writer(config.store.metadata_path)
    writer.ir_run("run-1", {node: S.COMPLETE for node in NODES}, pipeline=config.pipeline_name)
    opened = []
    real = store_module.open_store
    monkeypatch.setattr(store_module, "open_store",
                        lambda *args, **kwargs: opened.append(args) or real(*args, **kwargs))
    results = run_end.report_run_end(config, "run-1")
    assert len(opened) == 1, opened
    assert results.get("textfile") is None and "run end" not in results, results
    assert 'run_id="run-1"' in open(config.metrics.metrics_textfile).read()
    events = [json.loads(line) for line in open(tmp_path / "events.jsonl")]
    assert {e["run"]["runId"] for e in events} and events[0]["eventType"] == "START"
