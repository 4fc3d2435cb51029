"""The one MLMD layer every reader goes through: connection, errors and run queries.

Imports ml_metadata and protobuf only (no TensorFlow, no TFX), so a query starts fast.
"""
