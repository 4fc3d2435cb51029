"""Write the diabetes CSV this dataset was made from: scikit-learn's diabetes data (Efron et
al., 2004; `sklearn.datasets.load_diabetes(as_frame=True, scaled=False)`, scikit-learn 1.5.1)
with the target named `progression`. Columns whose values are all whole numbers are written as
integers, as in the original data; rows are in scikit-learn's order.

    .venv/bin/python data/diabetes/make_spans.py [--out data/diabetes/spans/span-1/data.csv]

`tabflow init` copied this file into spans/span-1/data.csv unchanged, so the default --out
rewrites the committed span byte for byte.
"""
import argparse
import csv
from pathlib import Path

from sklearn.datasets import load_diabetes

HERE = Path(__file__).resolve().parent
LABEL = "progression"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "spans" / "span-1" / "data.csv"))
    args = parser.parse_args(argv)
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": LABEL})
    whole = {c for c in frame.columns if (frame[c] % 1 == 0).all()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(frame.columns)
        for row in frame.itertuples(index=False):
            writer.writerow(int(v) if c in whole else repr(float(v))
                            for c, v in zip(frame.columns, row))
    print(f"{args.out}: {len(frame)} rows, {len(frame.columns)} columns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
