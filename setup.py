"""Installs the project's packages and its console entry point.

Dependencies are pinned in requirements.lock and installed from it by ./dev; they are not
repeated here so that one file is the source of truth.
"""
from setuptools import find_packages, setup

setup(
    name="tabflow",
    version="0.1.0",
    description="A production TFX pipeline with full ML Metadata lineage",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["tabflow", "tabflow.*", "pipeline", "pipeline.*",
                                    "modules", "modules.*", "runners", "runners.*"]),
    package_data={"tabflow.monitoring": ["openlineage_facets.json"]},
    # `taxi-pipeline` is the console's name from when the project served only the taxi data.
    entry_points={"console_scripts": ["tabflow=tabflow.console.main:main",
                                      "taxi-pipeline=tabflow.console.main:main"]},
)
