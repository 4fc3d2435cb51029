"""Compare runners: the same pipeline, data and config run cold under each orchestrator.

Runners (each a separate process on its own fresh output root, so every component executes):

- local:                    `tabflow run` (LocalDagRunner)
- beam-direct:              `tabflow run --runner beam --beam-preset direct`
- beam-direct-multiprocess: `tabflow run --runner beam --beam-preset direct-multiprocess`
- dagster:                  `tabflow run --runner dagster` (the Dagster job in-process, on a
                            temporary Dagster instance)
- prefect:                  `tabflow run --runner prefect` (the Prefect flow in-process, on
                            Prefect's temporary server unless PREFECT_API_URL is set)
- airflow:                  `airflow dags test taxi <today>` on the one-line dags file of
                            docs/airflow.md, in a fresh temporary AIRFLOW_HOME migrated first
                            (not timed), config through TABFLOW_* variables

Recorded per runner: wall seconds, exit code, CPU seconds and peak RSS of the child from
os.wait4 (for Airflow the `airflow dags test` process), the peak summed RSS of the whole process
tree sampled every 0.5 s (Beam's multi-process mode forks workers), and each component's state
and seconds from MLMD (`pipeline_run` context for Local/Beam, `run` context for Airflow).

    .venv/bin/python benchmarks/runners.py [--runners local beam-direct ...]
        [--train-steps N] [--eval-steps N] [--tuner-trials N] [--tuner-train-steps N]
        [--output-root DIR] [--json PATH] [--readme] [--check]

--readme keeps the JSON as benchmarks/results/runners.json and writes its tables into
benchmarks/README.md (benchmarks/readme_tables.py); --check only says whether those tables are
the kept JSON's.

A runner that fails is recorded (exit code, Airflow task states) and the next one still runs.
"""
import argparse
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))
sys.path.insert(1, str(BENCHMARKS.parent))

from beam_modes import TreeRssSampler  # noqa: E402
from benchmark import (PROJECT_ROOT, machine_info, mlmd_summary, run_child,  # noqa: E402
                       store_exists)
from tabflow import config as config_lib  # noqa: E402  (light: no TFX import)
from tabflow.config import PipelineConfig  # noqa: E402

# Runner name -> extra `taxi-pipeline run` flags; None: Airflow, driven by its own CLI.
RUNNERS = {
    "local": [],
    "beam-direct": ["--runner", "beam", "--beam-preset", "direct"],
    "beam-direct-multiprocess": ["--runner", "beam", "--beam-preset", "direct-multiprocess"],
    "dagster": ["--runner", "dagster"],
    "prefect": ["--runner", "prefect"],
    "airflow": None,
}
BEAM_PRESET = {"beam-direct": "direct", "beam-direct-multiprocess": "direct-multiprocess"}
DAG_FILE = "from runners.airflow_dag import DAG  # noqa: F401\n"
# The results benchmarks/README.md quotes, kept beside it (benchmarks/readme_tables.py).
REGION = "runners"


def parse_args(argv=None) -> argparse.Namespace:
    defaults = config_lib.from_sources()  # field defaults and TABFLOW_* variables
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runners", nargs="+", choices=list(RUNNERS), default=list(RUNNERS))
    p.add_argument("--train-steps", type=int, default=1000)
    p.add_argument("--eval-steps", type=int, default=150)
    p.add_argument("--tuner-trials", type=int, default=defaults.training.tuner_trials)
    p.add_argument("--tuner-train-steps", type=int, default=defaults.training.tuner_train_steps)
    p.add_argument("--output-root", help="parent of one output root per runner (default: "
                                         "outputs/benchmark/runners-<timestamp>); kept afterwards")
    p.add_argument("--json", help="results file "
                                  "(default: outputs/benchmark/runners-<timestamp>.json)")
    p.add_argument("--readme", action="store_true",
                   help="keep the JSON as benchmarks/results/runners.json and write "
                        "benchmarks/README.md's runner tables from it")
    p.add_argument("--check", action="store_true",
                   help="only say whether benchmarks/README.md's runner tables are the kept "
                        "JSON's")
    return p.parse_args(argv)


def runner_config(args: argparse.Namespace, runner: str, output_root: str) -> PipelineConfig:
    """What the child will run with (TABFLOW_* variables, then these settings): finds its MLMD."""
    config = config_lib.from_sources(
        output_root=output_root, train_steps=args.train_steps, eval_steps=args.eval_steps,
        tuner_trials=args.tuner_trials, tuner_train_steps=args.tuner_train_steps,
        **({"beam_preset": BEAM_PRESET[runner]} if runner in BEAM_PRESET else {}))
    if config.store.mysql_host:
        raise SystemExit("runners.py needs a fresh SQLite store per runner: "
                         "unset TABFLOW_MYSQL_HOST")
    if store_exists(config):
        raise SystemExit(f"{config.store.metadata_path} exists: each runner needs a fresh store "
                         "(is TABFLOW_METADATA_PATH set?)")
    return config


def airflow_env(config: PipelineConfig, airflow_home: Path, dags: Path) -> Dict[str, str]:
    """Overrides for `airflow`: an isolated home, and the config as TABFLOW_* variables."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Building the DAG imports TFX (~35 s here); Airflow's default timeout is 30 s.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        "TABFLOW_OUTPUT_ROOT": config.output_root,
        "TABFLOW_TRAIN_STEPS": str(config.training.train_steps),
        "TABFLOW_EVAL_STEPS": str(config.training.eval_steps),
        "TABFLOW_TUNER_TRIALS": str(config.training.tuner_trials),
        "TABFLOW_TUNER_TRAIN_STEPS": str(config.training.tuner_train_steps),
        # A failing task would otherwise wait out retry delays (300 s and up) before failing.
        "TABFLOW_AIRFLOW_RETRIES": "0",
    }


def env_command(overrides: Dict[str, str], cmd: List[str]) -> List[str]:
    """cmd run through env(1) with AIRFLOW* variables of this shell dropped and overrides set.

    env execs cmd in the same process, so run_child's os.wait4 still measures cmd itself.
    """
    unset = [arg for key in os.environ if key.startswith("AIRFLOW") for arg in ("-u", key)]
    return ["env", *unset, *[f"{k}={v}" for k, v in overrides.items()], *cmd]


def airflow_task_states(airflow_home: Path, dag_id: str) -> Dict[str, Any]:
    """The DAG run's and its tasks' states from Airflow's SQLite database (no DAG parse).

    The home is fresh, so the DAG has one run: the one `dags test` made.
    """
    db = airflow_home / "airflow.db"
    if not db.exists():
        return {"run_id": None, "dag_run_state": None, "task_states": {}}
    with sqlite3.connect(db) as conn:
        run = conn.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?",
                           (dag_id,)).fetchone()
        tasks = conn.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?",
                             (dag_id,)).fetchall()
    return {"run_id": run[0] if run else None, "dag_run_state": run[1] if run else None,
            "task_states": dict(sorted(tasks))}


def airflow_mlmd_summary(config: PipelineConfig) -> Dict[str, Any]:
    """Like benchmark.mlmd_summary, for the legacy launcher's `run` context."""
    empty = {"run_id": None, "components": [], "executed": 0, "cached": 0, "resolvers": 0,
             "other": 0}
    if not store_exists(config):
        return empty
    from tabflow.metadata import runs
    from tabflow.metadata.store import open_store
    store = open_store(config.store)
    airflow_runs = [r for r in runs.list_runs(store, config.pipeline_name)
                    if r.schema == "airflow"]
    if not airflow_runs:
        return {**empty, "note": "no Airflow run context in MLMD"}
    run_id = airflow_runs[-1].run_id
    components = [{"node_id": r.node_id, "type": r.type_name, "state": r.state,
                   "seconds": None if r.seconds is None else round(r.seconds, 2)}
                  for r in runs.run_executions(store, config.pipeline_name, run_id)]
    # The legacy launcher records the resolver as CACHED; count it apart, as mlmd_summary does.
    is_resolver = [c["type"].endswith(".Resolver") for c in components]
    states = [c["state"] for c, r in zip(components, is_resolver) if not r]
    executed, cached = states.count("COMPLETE"), states.count("CACHED")
    return {"run_id": run_id, "components": components,
            "executed": executed, "cached": cached, "resolvers": sum(is_resolver),
            "other": len(states) - executed - cached}


def read_mlmd(summary) -> Dict[str, Any]:
    """summary(), or an empty one naming the error: a failed read must not lose the timings."""
    try:
        return summary()
    except Exception as e:  # noqa: BLE001
        return {"run_id": None, "components": [], "executed": 0, "cached": 0, "resolvers": 0,
                "other": 0, "error": f"{type(e).__name__}: {e}"}


def pipeline_command(args: argparse.Namespace, output_root: str) -> List[str]:
    exe = Path(sys.executable).parent / "tabflow"
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run with the project's venv python")
    return [str(exe), "run", "--output-root", output_root,
            "--train-steps", str(args.train_steps), "--eval-steps", str(args.eval_steps),
            "--tuner-trials", str(args.tuner_trials),
            "--tuner-train-steps", str(args.tuner_train_steps)]


def measure(cmd: List[str]) -> Dict[str, Any]:
    print(f"  $ {' '.join(cmd)}", flush=True)
    with TreeRssSampler() as sampler:
        result = run_child(cmd)
    result["peak_tree_rss_mb"] = round(sampler.peak_mb, 1)
    return result


def run_pipeline(args, runner: str, config: PipelineConfig) -> Dict[str, Any]:
    cmd = pipeline_command(args, config.output_root) + RUNNERS[runner]
    result = {"command": cmd, **measure(cmd),
              "mlmd": read_mlmd(lambda: mlmd_summary(config, None))}
    result["ok"] = result["exit_code"] == 0
    return result


def run_airflow(config: PipelineConfig) -> Dict[str, Any]:
    airflow = str(Path(sys.executable).parent / "airflow")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    logical_date = datetime.datetime.combine(today, datetime.time(),
                                             datetime.timezone.utc).isoformat()
    with tempfile.TemporaryDirectory(prefix="benchmark-airflow-") as tmp:
        home, dags = Path(tmp) / "airflow_home", Path(tmp) / "dags"
        dags.mkdir()
        (dags / "taxi_dag.py").write_text(DAG_FILE)
        overrides = airflow_env(config, home, dags)
        start = time.perf_counter()
        migrate = subprocess.run(env_command(overrides, [airflow, "db", "migrate"]),
                                 cwd=tmp, capture_output=True, text=True)
        result: Dict[str, Any] = {"db_migrate_seconds": round(time.perf_counter() - start, 2)}
        if migrate.returncode != 0:
            print(migrate.stdout[-2000:] + migrate.stderr[-3000:], file=sys.stderr)
            return {**result, "ok": False, "exit_code": None,
                    "error": f"airflow db migrate exited {migrate.returncode}",
                    "mlmd": read_mlmd(lambda: airflow_mlmd_summary(config))}
        cmd = env_command(overrides, [airflow, "dags", "test", config.pipeline_name,
                                      logical_date])
        result.update(command=cmd, **measure(cmd))
        # `dags test` may exit 0 with failed tasks: Airflow's database has the verdict.
        result["airflow"] = airflow_task_states(home, config.pipeline_name)
    result["mlmd"] = read_mlmd(lambda: airflow_mlmd_summary(config))
    result["ok"] = result["exit_code"] == 0 and result["airflow"]["dag_run_state"] == "success"
    return result


def measure_runner(args, runner: str, output_root: Path) -> Dict[str, Any]:
    if output_root.exists():
        raise SystemExit(f"{output_root} exists: each runner needs a fresh output root")
    config = runner_config(args, runner, str(output_root))
    print(f"\n=== {runner} (output root {output_root}) ===", flush=True)
    try:
        result = (run_airflow(config) if runner == "airflow"
                  else run_pipeline(args, runner, config))
    except Exception as e:  # noqa: BLE001  one runner's breakage must not lose the others
        result = {"ok": False, "exit_code": None, "error": f"{type(e).__name__}: {e}"}
    result = {"runner": runner, "output_root": str(output_root), **result}
    print_runner(result)
    return result


def _f(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _component_seconds(r: Dict[str, Any]) -> Dict[str, Optional[float]]:
    return {c["node_id"]: c["seconds"] for c in r.get("mlmd", {}).get("components", [])}


def print_runner(r: Dict[str, Any]) -> None:
    cpu = (r["user_cpu_seconds"] + r["system_cpu_seconds"]
           if "user_cpu_seconds" in r else None)
    print(f"--- {r['runner']}: {'ok' if r['ok'] else 'FAILED'}, exit {r.get('exit_code')}, "
          f"wall {_f(r.get('wall_seconds'), '.1f')} s, CPU {_f(cpu, '.1f')} s, "
          f"peak RSS {_f(r.get('peak_rss_mb'), '.0f')} MB (largest process), "
          f"{_f(r.get('peak_tree_rss_mb'), '.0f')} MB (process tree)")
    if "error" in r:
        print(f"    error: {r['error']}")
    if "airflow" in r:
        bad = {t: s for t, s in r["airflow"]["task_states"].items() if s != "success"}
        print(f"    Airflow DAG run: {r['airflow']['dag_run_state']}"
              + (f"; tasks not successful: {bad}" if bad else ""))


def print_table(runs: List[Dict[str, Any]]) -> None:
    print("\n=== runners ===")
    print(f"  {'runner':<26} {'ok':>3} {'exit':>4} {'wall s':>7} {'CPU s':>7} {'RSS MB':>7} "
          f"{'tree MB':>8} {'executed':>8} {'comps s':>8}")
    for r in runs:
        cpu = (r["user_cpu_seconds"] + r["system_cpu_seconds"]
               if "user_cpu_seconds" in r else None)
        comps = sum(s or 0 for s in _component_seconds(r).values())
        print(f"  {r['runner']:<26} {'yes' if r['ok'] else 'NO':>3} "
              f"{_f(r.get('exit_code'), 'd'):>4} {_f(r.get('wall_seconds'), '7.1f'):>7} "
              f"{_f(cpu, '7.1f'):>7} {_f(r.get('peak_rss_mb'), '7.0f'):>7} "
              f"{_f(r.get('peak_tree_rss_mb'), '8.0f'):>8} "
              f"{r.get('mlmd', {}).get('executed', 0):>8} {comps:>8.1f}")

    print("\n  component seconds (MLMD: execution created -> last updated)")
    seconds = {r["runner"]: _component_seconds(r) for r in runs}
    nodes = list(dict.fromkeys(n for by_node in seconds.values() for n in by_node))
    names = [r["runner"] for r in runs]
    print(f"  {'component':<32}" + "".join(f" {n[:13]:>13}" for n in names))
    for node in nodes:
        print(f"  {node:<32}"
              + "".join(f" {_f(seconds[n].get(node), '13.1f'):>13}" for n in names))


def main(argv=None) -> int:
    args = parse_args(argv)
    from benchmarks import readme_tables
    if args.check:
        return readme_tables.check_region(REGION)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(args.output_root or PROJECT_ROOT / "outputs" / "benchmark"
                / f"runners-{stamp}").resolve()
    json_path = Path(args.json or PROJECT_ROOT / "outputs" / "benchmark"
                     / f"runners-{stamp}.json")
    print(f"Output roots under {base} (kept after the benchmark)")
    runs = [measure_runner(args, runner, base / runner) for runner in args.runners]
    print_table(runs)
    results = {
        "started": stamp,
        "commit": readme_tables.commit(),
        "settings": {"runners": args.runners, "train_steps": args.train_steps,
                     "eval_steps": args.eval_steps, "tuner_trials": args.tuner_trials,
                     "tuner_train_steps": args.tuner_train_steps},
        "machine": machine_info(),
        "runs": runs,
        "note": "Each runner ran cold on a fresh output root, one after another. peak_rss_mb "
                "is os.wait4's ru_maxrss (largest single process of the child's tree; for "
                "Airflow the `airflow dags test` process); peak_tree_rss_mb is the sum over "
                "the child and its descendants, sampled every 0.5 s. Airflow's wall time "
                "excludes `airflow db migrate` (db_migrate_seconds).",
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n  results JSON: {json_path}")
    if args.readme:
        readme_tables.keep_and_write(REGION, json_path)
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
