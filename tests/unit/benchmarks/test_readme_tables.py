"""benchmarks/README.md's measured tables are the kept results JSON, rendered: nobody edits
them by hand, and a new measurement replaces both together."""
import json

from benchmarks import readme_tables


def test_readme_tables_are_written_from_the_kept_results():
    rendered = readme_tables.render(json.loads(readme_tables.RESULTS.read_text()))
    assert readme_tables.section(readme_tables.README.read_text()) == rendered, (
        "benchmarks/README.md differs from benchmarks/results/benchmark.json: run "
        ".venv/bin/python benchmarks/readme_tables.py")


def test_every_scale_of_the_kept_results_has_the_template_beside_the_pipeline():
    results = json.loads(readme_tables.RESULTS.read_text())
    assert [s["scale"] for s in results["scales"]] == results["settings"]["scale"]
    settings = results["settings"]
    for scale in results["scales"]:
        rounds = settings["rounds"] if scale["scale"] == 1 else settings["rounds_above_1x"]
        assert len(scale["template_runs"]) == len(scale["pipeline_rounds"]) == rounds
        runs = scale["template_runs"] + [r for rnd in scale["pipeline_rounds"] for r in rnd]
        assert all(r["exit_code"] == 0 for r in runs)
