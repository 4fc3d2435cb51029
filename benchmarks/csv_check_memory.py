"""CsvCheck's peak memory and time against the size of hostile files.

For each shape (an unclosed quote at the start of the data, one line without a newline, a good
file of real rows) and each size, writes the file into a temporary span folder, runs
`pipeline.csv_check.check_file` on it in a fresh process and records that process's peak RSS
and seconds, beside an empty-file run of the same process (the interpreter's own baseline).
Flat figures across sizes are the claim; the good file shows the cost of a real check.

    .venv/bin/python benchmarks/csv_check_memory.py [--sizes-mb 10 100 400] [--json PATH]
        [--readme] [--check]

--readme keeps the JSON as benchmarks/results/csv_check_memory.json and writes its table into
benchmarks/README.md (benchmarks/readme_tables.py); --check only says whether that table is
the kept JSON's.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
GOOD_CSV = PROJECT_ROOT / "data" / "taxi" / "spans" / "span-4" / "data.csv"

# The results benchmarks/README.md quotes, kept beside it (benchmarks/readme_tables.py).
REGION = "csv_check_memory"

# Runs in the child: only csv_check is imported (no TFX), so the baseline is the interpreter's.
CHILD = """
import sys, time
from pipeline import csv_check
started = time.monotonic()
with open(sys.argv[1], "rb") as f:
    check = csv_check.check_file("data.csv", f, None)
print(len(check.problems), round(time.monotonic() - started, 3))
print(check.problems[0] if check.problems else "-")
"""


def write(path: Path, shape: str, size: int) -> None:
    with open(GOOD_CSV, "rb") as f:
        header = f.readline()
        rows = f.read()
    with open(path, "wb") as out:
        if shape == "empty":
            return
        out.write(header)
        if shape == "unclosed-quote":
            out.write(b'"')
        chunk = rows.replace(b"\n", b" ") if shape == "one-line" else rows
        while out.tell() < size:
            out.write(chunk)


def measure(path: Path):
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    out = process.stdout.read().splitlines()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"check failed on {path}: {process.stderr.read()[-2000:]}")
    problems, seconds = out[0].split()
    return {"peak_rss_mb": round(usage.ru_maxrss / 1024.0, 1), "seconds": float(seconds),
            "problems": int(problems), "first_problem": out[1][:160]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[10, 100, 400])
    parser.add_argument("--json", help="where to write the figures (default "
                                       "outputs/benchmark/csv-check-<timestamp>.json)")
    parser.add_argument("--readme", action="store_true",
                        help="keep the JSON as benchmarks/results/csv_check_memory.json and "
                             "write benchmarks/README.md's table from it")
    parser.add_argument("--check", action="store_true",
                        help="only say whether benchmarks/README.md's table is the kept JSON's")
    args = parser.parse_args(argv)
    from benchmarks import readme_tables
    if args.check:
        return readme_tables.check_region(REGION)
    started = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    load = list(os.getloadavg())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        write(path, "empty", 0)
        baseline = measure(path)
        print(f"baseline (empty file): peak RSS {baseline['peak_rss_mb']} MB")
        print(f"{'shape':<16}{'size MB':>9}{'peak RSS MB':>13}{'over base':>11}{'seconds':>9}"
              f"  first problem")
        for shape in ("unclosed-quote", "one-line", "good"):
            for size_mb in args.sizes_mb:
                write(path, shape, size_mb * 2**20)
                row = {"shape": shape, "size_mb": round(path.stat().st_size / 2**20, 1),
                       **measure(path)}
                row["over_baseline_mb"] = round(row["peak_rss_mb"] - baseline["peak_rss_mb"], 1)
                rows.append(row)
                print(f"{shape:<16}{row['size_mb']:>9}{row['peak_rss_mb']:>13}"
                      f"{row['over_baseline_mb']:>11}{row['seconds']:>9}  {row['first_problem']}")
    out = Path(args.json or PROJECT_ROOT / "outputs" / "benchmark" / f"csv-check-{started}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join([".venv/bin/python benchmarks/csv_check_memory.py", "--sizes-mb",
                        *map(str, args.sizes_mb)] + (["--readme"] if args.readme else []))
    out.write_text(json.dumps({
        "started": started, "commit": readme_tables.commit(), "command": command,
        "machine": {"nproc": os.cpu_count(),
                    "load_average_at_start": load},
        "baseline": baseline, "rows": rows}, indent=2) + "\n")
    print(f"JSON: {out}")
    if args.readme:
        readme_tables.keep_and_write(REGION, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
