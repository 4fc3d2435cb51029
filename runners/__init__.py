"""Runners: thin adapters that pick paths, metadata and engine arguments for create_pipeline."""
