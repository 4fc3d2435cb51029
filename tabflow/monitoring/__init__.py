"""Prometheus metrics of each run (metrics.py): written for node_exporter's textfile collector
and pushed to a Pushgateway when one is configured."""
