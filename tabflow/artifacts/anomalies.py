"""ExampleValidator's anomalies (one tensorflow_metadata Anomalies proto per split), as problems
and in the two forms they are shown: the AnomalyGate's failure message and the lineage and
review readers' per-split lists.

The gate reads the files itself (pipeline/components.py, through TFX's fileio so remote URIs
work) and describes them here, so a run stopped at the gate and its report name the same
problems.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Optional

from tensorflow_metadata.proto.v0 import anomalies_pb2

from tabflow.artifacts import protos
from tabflow.artifacts.errors import reading
from tabflow.artifacts.files import split_dirs
from tabflow.contract import ANOMALIES_FILE


@dataclass(frozen=True)
class Problem:
    split: str
    feature: Optional[str]  # None for a dataset-level problem
    reason: str  # the full descriptions, as the gate states them
    short_reason: str  # the short descriptions, as the readers list them


def _reasons(info, short_first: bool, minimum: int = 0) -> str:
    def text(item):
        first, second = (item.short_description, item.description) if short_first else (
            item.description, item.short_description)
        # TFDV says "fewer than expected" without the number the schema expects.
        if minimum and getattr(item, "type", None) == \
                anomalies_pb2.AnomalyInfo.DATASET_LOW_NUM_EXAMPLES:
            return f"{first or second} (the schema's minimum is {minimum} per split)"
        return first or second

    return "; ".join(text(r) for r in info.reason) or text(info)


def problems(by_split: Dict[str, anomalies_pb2.Anomalies]) -> List[Problem]:
    """Every anomalous feature (sorted) then the dataset-level problem, split by split (sorted).
    A reason joins the AnomalyInfo's reasons with "; ", or falls back to the info's own
    description when it lists none."""
    out = []
    for split, proto in sorted(by_split.items()):
        infos = sorted(proto.anomaly_info.items())
        if proto.HasField("dataset_anomaly_info"):
            infos.append((None, proto.dataset_anomaly_info))
        minimum = proto.baseline.dataset_constraints.min_examples_count
        out += [Problem(split, feature, _reasons(info, short_first=False, minimum=minimum),
                        _reasons(info, short_first=True, minimum=minimum))
                for feature, info in infos]
    return out


def describe_anomalies(by_split: Dict[str, anomalies_pb2.Anomalies]) -> List[str]:
    """The gate's lines: "feature 'x' (train split): reason" or "dataset (train split): reason"."""
    return [f"feature '{p.feature}' ({p.split} split): {p.reason}" if p.feature is not None
            else f"dataset ({p.split} split): {p.reason}" for p in problems(by_split)]


def lines_by_split(by_split: Dict[str, anomalies_pb2.Anomalies]) -> Dict[str, List[str]]:
    """The readers' lists: {split: ["feature: reason", "(dataset): reason"]}, an empty list for
    a clean split."""
    out: Dict[str, List[str]] = {split: [] for split in by_split}
    for p in problems(by_split):
        out[p.split].append(f"{p.feature if p.feature is not None else '(dataset)'}: "
                            f"{p.short_reason}")
    return out


def read_anomalies(uri: str) -> Dict[str, anomalies_pb2.Anomalies]:
    """{split: Anomalies} for a local ExampleAnomalies artifact folder (a split without its
    SchemaDiff.pb is left out)."""
    out = {}
    for split, folder in split_dirs(uri).items():
        path = os.path.join(folder, ANOMALIES_FILE)
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            with reading(path, "an Anomalies message", 0):
                out[split] = protos.parse(anomalies_pb2.Anomalies, data)
    return out


def anomaly_lines(uri: str) -> Dict[str, List[str]]:
    """lines_by_split() of a local ExampleAnomalies artifact folder."""
    return lines_by_split(read_anomalies(uri))
