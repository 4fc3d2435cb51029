"""Imports TFX and the pipeline once in the Airflow scheduler, before it forks.

LocalExecutor runs each task in a process forked from the scheduler's; each task then parses
the DAG file, which imports TFX, TensorFlow and the pipeline: about 13 s of every task here,
on a pipeline of 17 tasks. Imported by the scheduler first, they are inherited by every fork,
and a task starts in about a second. Airflow imports `airflow_local_settings` in every process,
so the import is limited to the scheduler; enable it with one file, next to airflow.cfg:

    # $AIRFLOW_HOME/config/airflow_local_settings.py
    import runners.airflow_preload  # noqa: F401
    __all__ = []

Forking after importing TensorFlow is safe as long as the parent has run nothing with it, which
the scheduler never does (Airflow's own parsing_pre_import_modules relies on the same).
"""
import sys

if sys.argv[1:2] == ["scheduler"]:
    import modules  # noqa: F401  Keras 2 before TensorFlow loads
    from tfx.dsl.compiler import compiler  # noqa: F401
    from tfx.orchestration.airflow import airflow_dag_runner  # noqa: F401

    import pipeline.pipeline  # noqa: F401
    import runners.airflow_launcher  # noqa: F401
