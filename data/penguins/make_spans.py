"""Write the Palmer penguins CSV this dataset was made from: the copy that ships in the
palmerpenguins package (0.1.6, pinned in requirements.in), with its NA cells left empty, which
is how CsvExampleGen reads a missing value. Rows and columns are the package's, in its order.

    .venv/bin/python data/penguins/make_spans.py [--out data/penguins/spans/span-1/data.csv]

`tabflow init` copied this file into spans/span-1/data.csv unchanged, so the default --out
rewrites the committed span byte for byte.
"""
import argparse
import csv
import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The package's own file, found without importing the package (its loader module downloads).
SOURCE = Path(importlib.util.find_spec("palmerpenguins").submodule_search_locations[0]) \
    / "data" / "penguins.csv"
MISSING = "NA"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "spans" / "span-1" / "data.csv"))
    args = parser.parse_args(argv)
    with open(SOURCE, newline="", encoding="utf-8") as f:
        rows = [["" if cell == MISSING else cell for cell in row] for row in csv.reader(f)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    print(f"{args.out}: {len(rows) - 1} rows from {SOURCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
