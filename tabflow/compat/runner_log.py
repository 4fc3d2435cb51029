"""The log lines TFX's IR-based runners write as a node starts, resolves its execution and
ends: the only signal of a run's progress they give while it runs.

Relies on the messages of TFX 1.16.0's tfx/orchestration/local/local_dag_runner.py ("Component
%s is running." / "is finished." / "Skipping component %s."), beam/beam_dag_runner.py ("node %s
is running." / "is finished.") and portable/launcher.py ("A cached execution %d is used.",
"Going to run a new execution %d", "Skipping execution for %s"): private text, not an API.
"""
import re

# LocalDagRunner says "Component X ...", BeamDagRunner "node X ...".
RUNNING = re.compile(r"^(?:Component|node) (\S+) is running\.$")
FINISHED = re.compile(r"^(?:Component|node) (\S+) is finished\.$")
SKIPPED_NODE = re.compile(r"^Skipping component (\S+)\.$")
CACHED = re.compile(r"^A cached execution (\d+) is used\.$")
NEW = re.compile(r"^Going to run a new execution (\d+)$")
SKIPPED_EXECUTION = re.compile(r"^Skipping execution for")
