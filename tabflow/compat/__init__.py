"""Every piece of code that relies on a private internal of TFX, TensorFlow, TFMA or Airflow:
an override of a private method, a subclass that assumes how its base is built, a reach into
an undocumented module, file layout or log line. tests/unit/tabflow/compat/test_compat.py pins each assumption,
naming the module here that makes it, so a library upgrade that breaks one fails there first.

Checked against the versions requirements.lock pins: TFX 1.16.0, TensorFlow 2.16.2, TFMA
0.47.1, Apache Airflow 2.10.3.

This package imports nothing of its own here: each caller imports the one module it needs, so
a code fingerprint (pipeline/fingerprints.py) covers only the modules a node runs. The modules
import the libraries they adapt, never pipeline/ or runners/; the ground floor (contract,
config, redaction, dataset) never imports them.
"""
