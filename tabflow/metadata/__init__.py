"""The one read layer over the pipeline's ML Metadata store.

Every reader (the run summary, `lineage`, `report`, `schema propose`, the notebooks and the
benchmarks) opens the store, lists runs, resolves `latest` / `previous` / run ids, decides
whether a run pushed, and finds artifacts by node and output key through this package.
It imports ml_metadata and protobuf only (no TensorFlow, TFX or Beam), so it loads in a
fraction of a second.
"""
