"""tabflow: a production TFX pipeline for tabular datasets, with full ML Metadata lineage.

The ground floor (`contract`, `config`, `dataset`, `environment`, `redaction`) imports nothing
else of the project; the rooms above it (metadata, artifacts, lineage, registry, review, health,
monitoring, alerts, console) build on it and on the metadata layer, and `compat` holds every
override of a private TFX, TensorFlow, TFMA or Airflow internal (tests/unit/test_import_graph.py
pins the graph)."""
