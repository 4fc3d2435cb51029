"""User code run by TFX: transform, model, tuner and trainer.

Transform, TFMA and the model must all use Keras 2 (tf-keras); this must be set before
TensorFlow is first imported in a process.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
