"""The updates Airflow has recorded for a Dataset, read from its metadata database.

Relies on Apache Airflow 2.10.3's ORM models airflow.models.dataset.DatasetModel (`id`, `uri`)
and DatasetEvent (`dataset_id`, `extra`), and on airflow.utils.session.create_session: all
outside Airflow's public interface (Airflow 3 renames datasets to assets).
"""
from typing import List


def dataset_event_extras(uri: str) -> List[object]:
    """The `extra` payload of every recorded update of the Dataset at `uri`."""
    from airflow.models.dataset import DatasetEvent, DatasetModel
    from airflow.utils.session import create_session
    with create_session() as session:
        rows = (session.query(DatasetEvent.extra)
                .join(DatasetModel, DatasetEvent.dataset_id == DatasetModel.id)
                .filter(DatasetModel.uri == uri).all())
    return [extra for (extra,) in rows]
