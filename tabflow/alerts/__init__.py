"""Run notifications: what a finished run amounts to (outcome.py, read from MLMD through the
run's review) and its delivery to a webhook or by e-mail, retried, never failing the run
(channels.py)."""
