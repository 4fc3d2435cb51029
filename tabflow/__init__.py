"""tabflow: a production TFX pipeline for tabular datasets, with full ML Metadata lineage.

The ground floor (`contract`, `config`, `redaction`) imports nothing else of the project; the
rooms above it (metadata, artifacts, lineage, registry, review, health, monitoring, alerts,
console) import the ground floor and the metadata layer, never each other's internals."""
