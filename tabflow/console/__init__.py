"""The `tabflow` command: the project's one place that parses arguments.

Each subcommand registers only the config sections it reads (tabflow/console/settings.py); the work
itself is done by runners/, lineage/, review/ and pipeline/.
"""
