"""Synthetic taxi data N times the size of the real spans, for scaling benchmarks.

`scaled_copy(data_root, folder, scale)` writes ONE span (`<folder>/span-1/data.csv`) holding
every row of every span under data_root (the same rows `all_spans_as_one` in
benchmarks/benchmark.py concatenates) followed by (scale - 1) resampled copies of them with
deterministic noise:

- fare and tips are multiplied by the same per-row factor (log-normal, sigma 0.05: about
  +-5 %), so the big-tipper label `tips > 0.2 * fare` keeps its meaning and its share;
  trip_miles and trip_seconds by another shared factor (a longer trip takes longer);
- coordinates move by a tiny amount (about 10 m) and stay inside the schema's bounding box;
- trip_start_timestamp shifts by up to an hour either way (later only where earlier would leave
  the schema's range), and trip_start_hour/day/month are
  recomputed from it so they still agree (Unix seconds written as if UTC, day 1 = Sunday);
- integer columns stay integers within their schema ranges; community areas, census tracts,
  payment_type and company are copied unchanged; an empty cell stays empty.

Header and column order are the input's. pandas/numpy/csv only (no TensorFlow): about 10 s
for 10x on a busy 2-core machine.

    .venv/bin/python data/taxi/synth.py --scale 10 --folder /tmp/taxi-10x [--seed 0]
"""
import argparse
import csv
import sys
from pathlib import Path
from typing import List

import numpy as np
import pandas as pd


# Schema bounding boxes (data/taxi/schema.pbtxt float_domain).
LAT_RANGE = (41.6, 42.1)
LON_RANGE = (-88.0, -87.5)
COORD_SIGMA = 1e-4          # degrees, about 10 m
MONEY_SIGMA = 0.05          # log-normal sigma of the fare/tips factor
TRIP_SIGMA = 0.05           # log-normal sigma of the miles/seconds factor
MAX_SHIFT_SECONDS = 3600
# The curated schema's earliest trip_start_timestamp (2013-01-01 00:00 UTC).
TIMESTAMP_MIN = 1356998400


def span_files(data_root: str) -> List[Path]:
    files = sorted(Path(data_root).glob("span-*/*.csv"))
    if not files:
        raise FileNotFoundError(f"no span CSV under {data_root} (expected span-*/*.csv)")
    return files


def read_spans(data_root: str) -> pd.DataFrame:
    """Every span's rows as text cells ('' for an empty cell), in the first file's column order."""
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False, na_filter=False)
              for p in span_files(data_root)]
    columns = list(frames[0].columns)
    return pd.concat([f[columns] for f in frames], ignore_index=True)


def _num(cells: pd.Series) -> np.ndarray:
    """Text cells as floats, NaN for empty cells."""
    return pd.to_numeric(cells.replace("", np.nan), errors="raise").to_numpy(dtype=float)


def _fmt_float(values: np.ndarray, decimals: int, empty: np.ndarray) -> np.ndarray:
    out = np.array([f"{v:.{decimals}f}" for v in np.nan_to_num(values)], dtype=object)
    out[empty] = ""
    return out


def _fmt_int(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    out = np.array([str(int(v)) for v in np.nan_to_num(values)], dtype=object)
    out[empty] = ""
    return out


def _decimals(cells: pd.Series, default: int) -> int:
    """Most decimals seen in a column's cells (keeps the file looking like the input)."""
    parts = cells[cells.str.contains(".", regex=False)].str.split(".").str[1]
    return int(parts.str.len().max()) if len(parts) else default


def noisy_copy(base: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One resampled, jittered copy of `base` (text cells in, text cells out)."""
    rows = base.iloc[rng.integers(0, len(base), size=len(base))].reset_index(drop=True)
    out = rows.copy()
    n = len(rows)
    has = {c: rows[c] != "" for c in rows.columns}

    money = np.exp(rng.normal(0.0, MONEY_SIGMA, n))
    for col in ("fare", "tips"):
        if col in rows:
            v = np.maximum(_num(rows[col]) * money, 0.0)
            out[col] = _fmt_float(v, 2, ~has[col].to_numpy())

    trip = np.exp(rng.normal(0.0, TRIP_SIGMA, n))
    if "trip_miles" in rows:
        v = np.maximum(_num(rows["trip_miles"]) * trip, 0.0)
        out["trip_miles"] = _fmt_float(v, 2, ~has["trip_miles"].to_numpy())
    if "trip_seconds" in rows:
        v = np.maximum(np.rint(_num(rows["trip_seconds"]) * trip), 0)
        out["trip_seconds"] = _fmt_int(v, ~has["trip_seconds"].to_numpy())

    for col, (lo, hi) in (("pickup_latitude", LAT_RANGE), ("dropoff_latitude", LAT_RANGE),
                          ("pickup_longitude", LON_RANGE), ("dropoff_longitude", LON_RANGE)):
        if col in rows:
            v = np.clip(_num(rows[col]) + rng.normal(0.0, COORD_SIGMA, n), lo, hi)
            out[col] = _fmt_float(v, _decimals(base[col], 9), ~has[col].to_numpy())

    if "trip_start_timestamp" in rows:
        ts = _num(rows["trip_start_timestamp"]).astype(np.int64)
        shifted = ts + rng.integers(-MAX_SHIFT_SECONDS, MAX_SHIFT_SECONDS + 1, n)
        # A shift may not leave the schema's range: trips of its first hour move later only.
        ts = np.where(shifted < TIMESTAMP_MIN, ts + np.abs(shifted - ts), shifted)
        out["trip_start_timestamp"] = [str(t) for t in ts]
        when = pd.to_datetime(ts, unit="s")
        if "trip_start_hour" in rows:
            out["trip_start_hour"] = [str(h) for h in when.hour]
        if "trip_start_month" in rows:
            out["trip_start_month"] = [str(m) for m in when.month]
        if "trip_start_day" in rows:
            # pandas: Monday=0 .. Sunday=6; the data: Sunday=1 .. Saturday=7.
            out["trip_start_day"] = [str((d + 1) % 7 + 1) for d in when.dayofweek]
    return out


def scaled_copy(data_root: str, folder: Path, scale: int, seed: int = 0) -> str:
    """Write `<folder>/span-1/data.csv` with `scale` times the rows of every span under
    data_root (the originals first, then scale-1 noisy copies); return `folder` as the data
    root to pass to `taxi-pipeline run --data-root`."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    files = span_files(data_root)
    target = Path(folder) / "span-1" / "data.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w", newline="") as out:
        # The original rows verbatim (byte for byte, as all_spans_as_one writes them).
        for i, path in enumerate(files):
            lines = path.read_text().splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])
        if scale > 1:
            base = read_spans(data_root)
            rng = np.random.default_rng(seed)
            writer = csv.writer(out, lineterminator="\n")
            for _ in range(scale - 1):
                writer.writerows(noisy_copy(base, rng).itertuples(index=False, name=None))
    return str(folder)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=str(Path(__file__).resolve().parent / "spans"))
    p.add_argument("--folder", required=True, help="where to write span-1/data.csv")
    p.add_argument("--scale", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    root = scaled_copy(args.data_root, Path(args.folder), args.scale, args.seed)
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
