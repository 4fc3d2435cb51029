"""The pipeline definition and its configuration."""


def __getattr__(name):
    # Custom artifact types are named "pipeline.<Class>" (see components.py): KFP containers
    # import them from here. Lazy, so importing the package does not import TFX.
    if name == "DataGateVerdict":
        from pipeline.components import DataGateVerdict
        return DataGateVerdict
    if name == "DriftReport":
        from pipeline.drift_gate import DriftReport
        return DriftReport
    if name == "CsvCheckReport":
        from pipeline.components import CsvCheckReport
        return CsvCheckReport
    if name == "RunProvenance":
        from pipeline.provenance import RunProvenanceArtifact
        return RunProvenanceArtifact
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
