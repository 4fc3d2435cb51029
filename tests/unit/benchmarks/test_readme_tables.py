"""benchmarks/README.md's measured tables are the kept results JSON, rendered: nobody edits
them by hand, and a new measurement replaces both together.

Each region is rendered here from a small JSON built in the test, written into a copy of a
README, checked by its script's --check, then checked again after the JSON changed; and the
real README's regions are checked against the JSON kept in benchmarks/results/."""
import copy
import json

import pytest

from benchmarks import readme_tables as R


def _scale(scale, template, cold, rerun, new_span):
    """One scale of benchmark.py's results: component seconds {side: {node: s}}."""
    anchor = template["whole"]
    ratio = lambda s: {"min": s / anchor, "median": s / anchor, "max": s / anchor}  # noqa: E731
    return {
        "scale": scale, "rows": 100 * scale, "template_runs": [{"exit_code": 0}],
        "pipeline_rounds": [[{"exit_code": 0}] * 3],
        "summary": {
            "anchor": {"template_median_wall_seconds": anchor},
            "wall_ratio": {"cold": ratio(cold["whole"]), "unchanged rerun": ratio(rerun),
                           "new span": ratio(new_span["whole"])},
            "peak_rss_ratio": {R.RSS: {"min": 1.1, "median": 1.1, "max": 1.1}},
            "component_median_seconds": {
                "template": {k: v for k, v in template.items() if k != "whole"},
                "cold": {k: v for k, v in cold.items() if k != "whole"},
                "unchanged rerun": {},
                "new span": {k: v for k, v in new_span.items() if k != "whole"}}}}


def benchmark_results():
    return {
        "started": "20260101-000000", "commit": "abc1234", "recovered": None,
        "machine": {"nproc": 2, "load_average_at_start": [0.5, 0.4, 0.3]},
        "settings": {"rounds": 1, "rounds_above_1x": 1, "train_steps": 10, "eval_steps": 2,
                     "tuner_trials": 1, "tuner_train_steps": 5, "scale": [1, 10],
                     "skip_model_quality": True},
        "scales": [
            _scale(1, {"Trainer": 10.0, "ExampleGen": 2.0, "whole": 40.0},
                   {"Trainer": 11.0, "ExampleGen": 1.0, "whole": 44.0}, 8.0,
                   {"Trainer": 12.0, "whole": 46.0}),
            _scale(10, {"Trainer": 10.0, "ExampleGen": 20.0, "whole": 80.0},
                   {"Trainer": 11.0, "ExampleGen": 8.0, "whole": 66.0}, 8.0,
                   {"Trainer": 12.0, "whole": 70.0}),
        ],
        "model_quality": None,
    }


def lineage_results():
    return {
        "store": {"backend": "sqlite", "runs": 10, "kinds": {"fresh": 6, "cached": 4},
                  "build_seconds": 1.5, "counts": {"artifacts": 80, "executions": 120}},
        "measurements": [
            {"kind": "in-process trace <model>", "n": 5, "p50_ms": 12.3, "p90_ms": 15.0,
             "max_ms": 20.1},
            {"kind": "command lineage runs", "n": 3, "p50_ms": 250.0, "p90_ms": 260.0,
             "max_ms": 270.0},
            {"kind": "command models", "n": 0, "error": "Traceback ..."},
        ],
        "targets": {"in_process_p50_ms": 100, "command_ms": 1000},
        "settings": {"runs": 10, "mysql": False, "targets": 5, "command_reps": 3, "seed": 0,
                     "keep": None, "store": None, "only": None, "no_in_process": False,
                     "no_bytecode_cache": False, "json": None, "readme": True, "check": False},
        "bytecode_cache": True,
        "machine": {"platform": "x", "python": "3.10", "cpus": 2, "load_average": [1, 1, 1]},
        "when": "20260101-000000", "commit": "abc1234",
    }


def csv_check_results():
    row = {"peak_rss_mb": 20.0, "seconds": 0.5, "problems": 1,
           "first_problem": "data.csv:2: a | b", "over_baseline_mb": 1.0}
    return {"started": "20260101T000000", "commit": "abc1234",
            "command": ".venv/bin/python benchmarks/csv_check_memory.py --sizes-mb 1 --readme",
            "machine": {"nproc": 2, "load_average_at_start": [0.1, 0.1, 0.1]},
            "baseline": {"peak_rss_mb": 19.0, "seconds": 0.01, "problems": 0,
                         "first_problem": "-"},
            "rows": [{"shape": "one-line", "size_mb": 1.0, **row},
                     {"shape": "good", "size_mb": 1.0, **row, "problems": 0,
                      "first_problem": "-"}]}


def _breakdown(scale):
    return {"rate": 50.0, "main_thread_seconds": 10.0 * scale,
            "components": [
                {"component": "Trainer", "seconds": 6.0 * scale, "share": 0.6,
                 "phases": [{"phase": "keras fit", "seconds": 5.0 * scale},
                            {"phase": "other", "seconds": 0.2}]},
                {"component": "(outside components)", "seconds": 4.0 * scale, "share": 0.4,
                 "phases": [{"phase": "imports", "seconds": 4.0 * scale}]}],
            "other_threads_samples_seconds": {},
            "child_processes_seconds": {"python -c x": 1.0}}


def profile_results():
    return {"started": "20260101-000000", "commit": "abc1234",
            "command": ".venv/bin/python benchmarks/profile_components.py a.raw b.raw "
                       "--rate 50 --labels cold 'new span' --readme",
            "recorded": "py-spy at 50 Hz", "sdist_per_node_from_log": [],
            "profiles": [{"label": "cold", "raw": "a.raw", "breakdown": _breakdown(1)},
                         {"label": "new span", "raw": "b.raw", "breakdown": _breakdown(2)}]}


def runners_results():
    return {"started": "20260101-000000", "commit": "abc1234",
            "settings": {"runners": ["local", "airflow"], "train_steps": 10, "eval_steps": 2,
                         "tuner_trials": 1, "tuner_train_steps": 5},
            "machine": {"nproc": 2, "load_average_at_start": [0.2, 0.2, 0.2]},
            "runs": [
                {"runner": "local", "ok": True, "exit_code": 0, "wall_seconds": 60.0,
                 "user_cpu_seconds": 50.0, "system_cpu_seconds": 5.0, "peak_rss_mb": 1200.0,
                 "peak_tree_rss_mb": 1300.0,
                 "mlmd": {"executed": 2, "components": [
                     {"node_id": "Trainer", "seconds": 20.0},
                     {"node_id": "Evaluator", "seconds": 10.0}]}},
                {"runner": "airflow", "ok": False, "exit_code": None,
                 "error": "airflow db migrate exited 1", "mlmd": {"components": []}}]}


def model_comparison_results():
    from tests.unit.benchmarks.test_model_comparison import _results
    return _results()


def _bump_lineage(r):
    r["measurements"][0]["p50_ms"] += 1


def _bump_benchmark(r):
    r["scales"][1]["summary"]["component_median_seconds"]["cold"]["ExampleGen"] = 9.0


def _bump_model_comparison(r):
    r["commit"] = "def5678"


def _bump_csv(r):
    r["rows"][1]["seconds"] = 0.7


def _bump_profile(r):
    r["profiles"][1]["breakdown"]["components"][0]["phases"][0]["seconds"] = 9.0


def _bump_runners(r):
    r["runs"][0]["wall_seconds"] = 61.0


def _script_check(name):
    """The region's own script's --check."""
    if name == "benchmark":
        from benchmarks import benchmark as script
    elif name == "lineage_speed":
        from benchmarks import lineage_speed as script
    elif name == "csv_check_memory":
        from benchmarks import csv_check_memory as script
    elif name == "profile_components":
        from benchmarks import profile_components as script
    elif name == "runners":
        from benchmarks import runners as script
    else:
        from benchmarks import model_comparison as script
    return script.main(["--check"])


FIXTURES = {
    "benchmark": (benchmark_results, _bump_benchmark),
    "model_comparison": (model_comparison_results, _bump_model_comparison),
    "lineage_speed": (lineage_results, _bump_lineage),
    "csv_check_memory": (csv_check_results, _bump_csv),
    "profile_components": (profile_results, _bump_profile),
    "runners": (runners_results, _bump_runners),
}


def test_every_region_has_a_fixture():
    assert set(FIXTURES) == set(R.REGIONS)


@pytest.fixture
def readme_copy(tmp_path, monkeypatch):
    """A README with every region's markers (stale content between them) and an empty results
    folder, in place of the real ones."""
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\nbefore\n\n" + "\n\nbetween\n\n".join(
        f"{r.begin}\nold\n{r.end}" for r in R.REGIONS.values()) + "\n\nafter\n")
    monkeypatch.setattr(R, "README", readme)
    monkeypatch.setattr(R, "RESULTS_DIR", tmp_path / "results")
    return readme


@pytest.mark.parametrize("name", list(FIXTURES))
def test_a_region_is_written_from_its_json_and_checked(name, readme_copy, tmp_path, capsys):
    build, bump = FIXTURES[name]
    results = build()
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(results))
    assert _script_check(name) == 1  # the stale region
    R.keep_and_write(name, run_json)  # what the script's --readme does
    kept = tmp_path / "results" / f"{name}.json"
    assert json.loads(kept.read_text()) == results
    text = readme_copy.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith("\n\nafter\n")
    assert R.region_section(text, name) == R.render_region(name, results)
    assert text.count("old\n") == len(R.REGIONS) - 1  # the other regions untouched
    capsys.readouterr()
    assert _script_check(name) == 0
    assert "match" in capsys.readouterr().out
    changed = copy.deepcopy(results)
    bump(changed)
    kept.write_text(json.dumps(changed))
    assert _script_check(name) == 1
    out = capsys.readouterr().out.strip()
    assert "differ" in out and "\n" not in out


def test_the_benchmark_region_shows_each_components_growth():
    text = R.render_region("benchmark", benchmark_results())
    assert "| component (template) | 1x | 10x | 10x / 1x |" in text
    assert "| ExampleGen | 2.0 | 20.0 | 10.0 |" in text
    assert "| component (cold) | 1x | 10x | 10x / 1x |" in text
    assert "| ExampleGen | 1.0 | 8.0 | 8.0 |" in text
    assert "| **whole process (wall)** | 44.0 | 66.0 | 1.5 |" in text


def test_the_profile_region_has_a_table_per_recording_and_one_by_phase():
    text = R.render_region("profile_components", profile_results())
    assert "**cold**: the main thread sampled for 10.0 s at 50/s" in text
    assert "**new span**: the main thread sampled for 20.0 s at 50/s" in text
    assert "| Trainer | 12.0 | 60% | keras fit 10.0 |" in text  # the 0.2 s phase left out
    assert "| keras fit | 5.0 | 50% | 10.0 | 50% |" in text


def test_a_cell_never_breaks_the_table():
    text = R.render_region("csv_check_memory", csv_check_results())
    assert "| data.csv:2: a \\| b |" in text


def test_runners_without_a_kept_json_say_how_to_measure(readme_copy, tmp_path, capsys):
    R.write_region("runners")
    section = R.region_section(readme_copy.read_text(), "runners")
    assert "Not yet measured at this commit: run" in section
    assert R.RUNNERS_COMMAND in section
    assert _script_check("runners") == 0
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "runners.json").write_text(json.dumps(runners_results()))
    assert _script_check("runners") == 1


def test_a_region_other_than_runners_needs_its_json(readme_copy, capsys):
    with pytest.raises(SystemExit, match="lineage_speed.json is missing"):
        R.write_region("lineage_speed")
    assert _script_check("lineage_speed") == 1
    assert "no kept JSON" in capsys.readouterr().out


def test_readme_tables_writes_and_checks_every_region_of_a_readme(readme_copy, tmp_path):
    (tmp_path / "results").mkdir()
    for name, (build, _) in FIXTURES.items():
        if name != "runners":
            (tmp_path / "results" / f"{name}.json").write_text(json.dumps(build()))
    assert R.main(["--check"]) == 1
    assert R.main([]) == 0
    assert R.main(["--check"]) == 0
    assert "Not yet measured at this commit" in R.region_section(readme_copy.read_text(),
                                                                 "runners")


def test_profile_components_readme_from_a_recording(readme_copy, tmp_path):
    """The script end to end: a tiny py-spy raw file, its tables kept and written."""
    from benchmarks import profile_components
    raw = tmp_path / "run.raw"
    process, thread = 'process 7:"tabflow run"', 'thread (7): "MainThread"'
    raw.write_text(f"{process};{thread};main (x.py:1);_find_and_load (<frozen importlib>:1) 30\n"
                   f"{process};{thread};main (x.py:1);run (x.py:9) 20\n")
    assert profile_components.main([str(raw), "--rate", "10", "--labels", "cold",
                                    "--commit", "abc1234", "--recorded", "a test",
                                    "--readme"]) == 0
    kept = json.loads((tmp_path / "results" / "profile_components.json").read_text())
    assert kept["commit"] == "abc1234" and kept["profiles"][0]["label"] == "cold"
    section = R.region_section(readme_copy.read_text(), "profile_components")
    assert "| (outside components) | 5.0 | 100% | imports 3.0; other (CLI, config, " \
           "shutdown) 2.0 |" in section
    assert profile_components.main(["--check"]) == 0


def test_csv_check_memory_readme_end_to_end(readme_copy, tmp_path):
    from benchmarks import csv_check_memory
    assert csv_check_memory.main(["--sizes-mb", "1", "--json", str(tmp_path / "run.json"),
                                  "--readme"]) == 0
    kept = json.loads((tmp_path / "results" / "csv_check_memory.json").read_text())
    assert [r["shape"] for r in kept["rows"]] == ["unclosed-quote", "one-line", "good"]
    assert kept["command"].endswith("--sizes-mb 1 --readme")
    assert csv_check_memory.main(["--check"]) == 0


def test_the_real_readme_is_its_kept_json_rendered():
    """Every region marked in benchmarks/README.md has its JSON in benchmarks/results/ (only a
    region that can say "not yet measured" may stand without) and is what that JSON renders:
    a hand edit of the README, or a JSON changed without writing the README, fails here."""
    names = R.regions_in()
    assert {"benchmark", "model_comparison"} <= set(names)
    text = R.README.read_text()
    for name in names:
        region = R.REGIONS[name]
        assert text.count(region.begin) == 1 and text.count(region.end) == 1, name
        if region.unmeasured is None:
            assert region.results.exists(), f"{region.results} is missing"
        assert R.region_matches(name), (
            f"benchmarks/README.md's {name} tables differ from {region.results.name}: run "
            f".venv/bin/python benchmarks/readme_tables.py --region {name}")


def test_no_table_outside_the_regions():
    """Figures in the README come from a kept JSON: no markdown table outside a region."""
    text = R.README.read_text()
    for name in R.regions_in():
        text = text.replace(R.region_section(text, name), "")
    tables = [line for line in text.splitlines() if line.startswith("|---")]
    assert not tables, f"a table outside the written regions: {tables}"


def test_every_scale_of_the_kept_results_has_the_template_beside_the_pipeline():
    results = json.loads(R.RESULTS.read_text())
    assert [s["scale"] for s in results["scales"]] == results["settings"]["scale"]
    settings = results["settings"]
    for scale in results["scales"]:
        rounds = settings["rounds"] if scale["scale"] == 1 else settings["rounds_above_1x"]
        assert len(scale["template_runs"]) == len(scale["pipeline_rounds"]) == rounds
        runs = scale["template_runs"] + [r for rnd in scale["pipeline_rounds"] for r in rnd]
        assert all(r["exit_code"] == 0 for r in runs)
        assert scale["summary"]["component_median_seconds"]["template"]
        assert scale["summary"]["component_median_seconds"]["cold"]
