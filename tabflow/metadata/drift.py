"""The drift gate's baseline, as MLMD records it: the DriftReports of spans that passed, each
naming the statistics and Examples it passed (pipeline/drift_gate.py publishes them; the gate's
resolver and `tabflow gc` read them)."""
from typing import List, Optional

from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import ListOptions
from ml_metadata.proto import metadata_store_pb2

from tabflow import contract as C
from tabflow.metadata import facts


span_of = facts.span


def passed_reports(store, pipeline_context_id: int) -> List[metadata_store_pb2.Artifact]:
    """The pipeline's DriftReports: the gate publishes one only for a span that passed."""
    try:
        store.get_artifact_type(C.DRIFT_REPORT_TYPE)
    except mlmd_errors.NotFoundError:  # no gate has passed anything in this store yet
        return []
    return [a for a in store.get_artifacts_by_context(pipeline_context_id, list_options=ListOptions(
                filter_query=f"type = '{C.DRIFT_REPORT_TYPE}'"))
            if a.state == metadata_store_pb2.Artifact.LIVE
            and a.custom_properties[C.PASSED_PROPERTY].int_value == 1
            and C.STATISTICS_ID_PROPERTY in a.custom_properties
            and C.EXAMPLES_ID_PROPERTY in a.custom_properties]


def choose_baseline(current_span: int, reports: List[metadata_store_pb2.Artifact]
                    ) -> Optional[metadata_store_pb2.Artifact]:
    """The newest of the reports with the largest span below `current_span`, or None."""
    older = [r for r in reports if span_of(r) is not None and span_of(r) < current_span]
    return max(older, key=lambda r: (span_of(r), r.id), default=None)


def live(store, report) -> bool:
    """Whether the statistics and Examples a report names still have their files."""
    ids = [report.custom_properties[p].int_value
           for p in (C.STATISTICS_ID_PROPERTY, C.EXAMPLES_ID_PROPERTY)]
    found = store.get_artifacts_by_id(ids)
    return len(found) == 2 and all(a.state == metadata_store_pb2.Artifact.LIVE for a in found)
