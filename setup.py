"""Installs the project's packages and its console entry point.

Dependencies are pinned in requirements.lock and installed from it by ./dev; they are not
repeated here so that one file is the source of truth.
"""
from setuptools import find_packages, setup

setup(
    name="taxi-tfx-pipeline",
    version="0.1.0",
    description="A production TFX pipeline with full ML Metadata lineage",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["pipeline", "pipeline.*", "modules", "modules.*",
                                    "metadata", "metadata.*", "console", "console.*",
                                    "runners", "runners.*", "lineage", "lineage.*", "review",
                                    "review.*", "artifacts", "artifacts.*", "registry",
                                    "registry.*", "alerts", "alerts.*", "monitoring",
                                    "monitoring.*", "health", "health.*"]),
    package_data={"monitoring": ["openlineage_facets.json"]},
    entry_points={"console_scripts": ["taxi-pipeline=console.main:main"]},
)
