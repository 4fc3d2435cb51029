"""Data-aware triggering under Airflow: a new span under data_root starts a pipeline run.

Airflow 2.10's data-aware scheduling is the Dataset: a DAG scheduled on a Dataset runs when the
Dataset is updated, and Airflow shows the dependency, records each update (with an `extra`
payload) and coalesces updates that arrive while a run is queued. The pipeline DAG is scheduled
on `spans_dataset(config)`; anything may update it: the watcher DAG below, which looks under
data_root every `airflow_span_poll_seconds`, or the job that uploads a span, through Airflow's
REST API (POST /api/v1/datasets/events), with no polling at all.

The watcher announces span N (extra {"span": N}) when N is newer than every span already
announced and every span the pipeline has ingested (MLMD), so a span is announced once. The
pipeline run it triggers ingests the latest span; spans that land while a run is busy are
coalesced into the newest one, as Airflow coalesces the Dataset's updates.
"""
import datetime
import logging
from typing import Optional

from tabflow.config import PipelineConfig

log = logging.getLogger(__name__)


def start_date(config: PipelineConfig) -> datetime.datetime:
    start = datetime.datetime.fromisoformat(config.airflow.airflow_start_date)
    return start if start.tzinfo else start.replace(tzinfo=datetime.timezone.utc)


def spans_dataset(config: PipelineConfig):
    from airflow.datasets import Dataset
    root = config.data.data_root
    return Dataset(root if "://" in root else f"file://{root}")


def newest_span(data_root: str) -> Optional[int]:
    """The highest N of the span-N folders under data_root that hold a file, or None."""
    from pipeline.components import span_folders
    spans = [span for span, files in span_folders(data_root).items() if files]
    return max(spans) if spans else None


def last_announced(uri: str) -> Optional[int]:
    """The highest span the Dataset's recorded updates carry."""
    from tabflow.compat.airflow_datasets import dataset_event_extras
    spans = [extra.get("span") for extra in dataset_event_extras(uri) if isinstance(extra, dict)]
    spans = [int(s) for s in spans if isinstance(s, int) or (isinstance(s, str) and s.isdigit())]
    return max(spans) if spans else None


def last_ingested(config: PipelineConfig) -> Optional[int]:
    """The span of the newest Examples the pipeline's ExampleGen output, from MLMD."""
    from tabflow.metadata.errors import StoreError
    from tabflow.metadata.graph import custom
    from tabflow.metadata.runs import latest_output
    from tabflow.metadata.store import open_store
    from tabflow import contract as C
    try:
        examples = latest_output(open_store(config.store), config.pipeline_name, C.EXAMPLE_GEN,
                                 C.EXAMPLES_KEY)
    except StoreError:
        return None  # no store yet: nothing ingested
    return custom(examples, C.SPAN_PROPERTY) if examples is not None else None


def announce_new_span(**context) -> int:
    """The watcher's task: updates the Dataset with the new span, or is skipped."""
    from airflow.exceptions import AirflowSkipException

    from tabflow.config import from_sources
    config = from_sources()
    dataset = spans_dataset(config)
    newest = newest_span(config.data.data_root)
    known = [s for s in (last_announced(dataset.uri), last_ingested(config)) if s is not None]
    if newest is None or (known and newest <= max(known)):
        raise AirflowSkipException(f"no new span under {config.data.data_root} (newest "
                                   f"{newest}, last announced or ingested "
                                   f"{max(known) if known else None})")
    context["outlet_events"][dataset].extra = {"span": newest}
    log.info("announcing span %s of %s", newest, config.data.data_root)
    return newest


def build_watch_dag(config: PipelineConfig):
    """`<pipeline>_span_watch`: every airflow_span_poll_seconds, announce a new span."""
    from airflow.models.dag import DAG
    from airflow.operators.python import PythonOperator

    airflow = config.airflow
    with DAG(dag_id=f"{config.pipeline_name}_span_watch",
             schedule=datetime.timedelta(seconds=airflow.airflow_span_poll_seconds),
             start_date=start_date(config), catchup=False, max_active_runs=1,
             doc_md=__doc__) as dag:
        PythonOperator(task_id="announce_new_span", python_callable=announce_new_span,
                       outlets=[spans_dataset(config)])
    return dag
