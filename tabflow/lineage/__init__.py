"""Lineage questions over the pipeline's MLMD store, answered from a terminal.

Everything here reads MLMD and the artifacts' files with ml_metadata, protobuf and the
tensorflow_metadata / TFMA proto modules only: no TensorFlow, TFX, TFDV, TFMA or Beam import,
so a query starts and answers in well under a second.
"""
