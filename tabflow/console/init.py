"""`tabflow init`: start a dataset folder from a CSV file, a folder of CSV files or a folder of
span-<N> folders.

The new folder runs as it is: its spans (the data, copied), a schema inferred by TFDV with value
constraints, and a dataset.yaml whose problem type, classes, slices and thresholds are measured
on the data. It is written into a temporary folder next to the target and renamed into place
only once it loads, so a failure leaves nothing half-written.
"""
import logging
import os
import shutil
import tempfile
from pathlib import Path

from tabflow import dataset

RUN_COMMAND = "tabflow run --dataset {folder}"
SCHEMA_HEADER = """\
# Made by `tabflow init`: TFDV's schema inferred from the data, with the value constraints
# pipeline/schema_proposal.py proposes from its statistics (ranges, disallow_nan/inf, typical
# ranges). The label is required in every example and absent when serving.
"""


def _check_target(out: Path, source: str, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ValueError(f"{out}: exists and is not empty; --force replaces it")
        real_source, real_out = os.path.realpath(source), os.path.realpath(out)
        if real_source == real_out or real_source.startswith(real_out + os.sep):
            raise ValueError(f"{source}: lies inside {out}, which --force would replace; "
                             f"copy the data elsewhere first")


def _infer_schema(spans_folder: Path, label: str, scratch: str):
    """TFDV's schema for the copied spans plus the proposed value constraints, and the
    statistics it came from."""
    # TensorFlow's C++ start-up notices and Beam's warnings are no news to someone starting a
    # dataset; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for logger in ("tensorflow", "apache_beam"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import schema_pb2
    from pipeline import schema_proposal

    statistics = tfdv.generate_statistics_from_csv(
        str(spans_folder / "span-*" / "data.csv"),
        output_path=os.path.join(scratch, "statistics.tfrecord"))
    schema, _ = schema_proposal.propose_update(
        schema_pb2.Schema(), tfdv.infer_schema(statistics), statistics.datasets[0])
    schema.default_environment.extend(["TRAINING", "SERVING"])
    for feature in schema.feature:
        # A column with empty cells: CsvExampleGen writes those examples with no value, which
        # a value_count minimum of 1 would report in every span.
        if feature.presence.min_fraction < 1.0 and feature.value_count.HasField("min"):
            feature.value_count.ClearField("min")
    feature = next(f for f in schema.feature if f.name == label)
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    feature.not_in_environment.append("SERVING")
    return schema


def _typical_ranges(schema):
    from pipeline import span_values
    return {name: (domain.min if domain.HasField("min") else None,
                   domain.max if domain.HasField("max") else None)
            for name, domain in span_values.typical_ranges(schema).items()}


def _install(work: Path, out: Path) -> None:
    """Move the finished folder into place (replacing a --force'd one whole)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(work, 0o777 & ~umask)  # mkdtemp made it private
    if out.is_dir() and any(out.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old)
        os.replace(work, out)
        shutil.rmtree(old)
    else:
        os.replace(work, out)


def cmd_init(args) -> int:
    from pipeline import dataset_init as di
    from pipeline.schema_proposal import schema_to_text

    out = Path(os.path.abspath(os.path.expanduser(args.out)))
    source = os.path.abspath(os.path.expanduser(args.csv))
    name = args.name or di.dataset_name(str(out))
    if not name.replace("-", "_").isidentifier():
        raise ValueError(f"--name: must be letters, digits, '_' or '-', got {name!r}")
    _check_target(out, source, args.force)
    spans = di.find_sources(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.init-", dir=out.parent))
    try:
        copied = di.copy_spans(spans, args.label, work / dataset.SPANS_FOLDER)
        for raw, new in copied.renames.items():
            print(f"renamed column {raw!r} -> {new}")
        problem = di.infer_problem(copied.profiles[copied.label], args.problem_type)
        gates = di.measure_gates(problem, copied)
        rows = ", ".join(f"span-{n} {r:,}" for n, r in sorted(copied.span_rows.items()))
        print(f"copied {copied.rows:,} rows ({rows}); label {copied.label!r}: "
              f"{problem.problem_type}, {problem.why}")
        print("computing statistics with TFDV ...")
        with tempfile.TemporaryDirectory() as scratch:
            schema = _infer_schema(work / dataset.SPANS_FOLDER, copied.label, scratch)
        (work / dataset.SCHEMA_FILE).write_text(SCHEMA_HEADER + schema_to_text(schema),
                                                encoding="utf-8")
        files = {n: work / dataset.SPANS_FOLDER / f"span-{n}" / "data.csv"
                 for n in copied.span_rows}
        ranges = _typical_ranges(schema)
        outlier = di.max_outlier_share(di.outlier_share(files, ranges) if ranges else None)
        slices = di.report_slices(copied)
        (work / dataset.SPEC_FILE).write_text(
            di.spec_yaml(name, source, copied, problem, gates, slices, outlier),
            encoding="utf-8")
        (work / "README.md").write_text(
            di.readme_text(name, source, copied, problem, RUN_COMMAND.format(folder=out)),
            encoding="utf-8")
        spec = dataset.load(str(work))
        written = (spec.name, spec.label, spec.problem_type, spec.classes, spec.threshold)
        meant = (name, copied.label, problem.problem_type, problem.classes, gates.threshold)
        if written != meant:
            raise ValueError(f"{work / dataset.SPEC_FILE}: reads back as {written}, "
                             f"written as {meant}")
        _install(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    headline = spec.headline
    bound = "<=" if not headline.higher_is_better else ">="
    print(f"Dataset {spec.name!r} written to {out}")
    print(f"  label:      {spec.label} ({spec.problem_type}"
          f"{': ' + ', '.join(spec.classes) if spec.classes else ''})")
    print(f"  gate:       test {headline.title} {bound} {spec.threshold:g}, "
          f"max regression {spec.max_regression:g}")
    print(f"  slices:     {', '.join(spec.report_slices) or 'none'}")
    print(f"  schema:     {len(schema.feature)} features ({out / dataset.SCHEMA_FILE})")
    print(f"Review dataset.yaml and schema.pbtxt, then run it: {RUN_COMMAND.format(folder=out)}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "init", help="start a dataset folder from CSV data",
        description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", required=True, metavar="PATH",
                   help="a CSV file, a folder of CSV files (one span) or a folder of "
                        "span-<N> folders")
    p.add_argument("--label", required=True, metavar="COLUMN",
                   help="the column to predict")
    p.add_argument("--out", required=True, metavar="FOLDER",
                   help="the dataset folder to write")
    p.add_argument("--name", help="the dataset's name (default: FOLDER's name)")
    p.add_argument("--problem-type", choices=dataset.PROBLEM_TYPES,
                   help="default: inferred from the label's values")
    p.add_argument("--force", action="store_true",
                   help="replace FOLDER if it exists and is not empty")
    p.set_defaults(func=cmd_init)
