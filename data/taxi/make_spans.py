"""Split the taxi sample into time-ordered spans: data/taxi/spans/span-<N>/data.csv.

Rows are ordered by trip_start_timestamp and cut into equal-sized spans, so span N+1 holds
later trips than span N, as a daily or weekly export would. The source is the copy of the
sample that ships in the tfx wheel (see data/taxi/README.md); rerunning this reproduces the
committed files byte for byte.

    .venv/bin/python data/taxi/make_spans.py [--spans 4]
"""
import argparse
import csv
import os
from pathlib import Path

import tfx

HERE = Path(__file__).resolve().parent
SOURCE = Path(tfx.__file__).parent / "examples/chicago_taxi_pipeline/data/simple/data.csv"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=4)
    parser.add_argument("--source", default=str(SOURCE))
    parser.add_argument("--out", default=str(HERE / "spans"))
    args = parser.parse_args(argv)

    with open(args.source, newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        rows = list(reader)
    # A stable sort keeps the source order among trips that started in the same minute.
    rows.sort(key=lambda r: int(r["trip_start_timestamp"]))
    size = -(-len(rows) // args.spans)
    for n in range(args.spans):
        chunk = rows[n * size:(n + 1) * size]
        folder = Path(args.out) / f"span-{n + 1}"
        os.makedirs(folder, exist_ok=True)
        with open(folder / "data.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(chunk)
        print(f"{folder}: {len(chunk)} rows, trip_start_timestamp "
              f"{chunk[0]['trip_start_timestamp']}..{chunk[-1]['trip_start_timestamp']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
