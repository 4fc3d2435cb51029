"""Readers of the files inside pipeline artifacts: TFRecord framing, protobuf wire format,
schemas, statistics and drift, anomalies, TFMA evaluation output, tuner output, data folders.

They import protobuf, tensorflow_metadata's proto modules and google_crc32c only, never
TensorFlow, TFX, TFMA or Beam, so that lineage and review commands answer in milliseconds.
Folder and file names come from tabflow.contract. A file that is not what it should be raises
errors.CorruptRecord (a ValueError) naming the file and, where known, the byte at fault.
"""
