"""Terminal progress for a pipeline run, with TFX's own log output sent to a log file.

TFX, Beam and TensorFlow write to Python logging, absl and straight to file descriptors 1 and
2 (C++ code). During a run both descriptors point at the log file; progress lines go to a
duplicate of the original terminal stream, built from the orchestrator's log records.

The log file is the owner's alone (0600), and every Python log record is redacted on its way
there (tabflow/redaction.py): TFX logs the whole MLMD connection config at INFO, MySQL
password included.
"""
import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, TextIO

from tabflow.compat import runner_log
from tabflow.redaction import RedactingFilter


@dataclass
class NodeProgress:
    node_id: str
    started: float
    seconds: Optional[float] = None
    outcome: str = "running"   # executed | cached | skipped | failed
    execution_id: Optional[int] = None


@dataclass
class RunProgress:
    nodes: Dict[str, NodeProgress] = field(default_factory=dict)
    order: List[str] = field(default_factory=list)
    current: Optional[str] = None


class ProgressHandler(logging.Handler):
    """Turns the orchestrator's log records into one line per component start and end."""

    def __init__(self, terminal: TextIO):
        super().__init__(level=logging.INFO)
        self.terminal = terminal
        self.state = RunProgress()

    def _say(self, text: str) -> None:
        self.terminal.write(text + "\n")
        self.terminal.flush()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed third-party record must not break the run
            return
        state = self.state
        if m := runner_log.RUNNING.match(msg):
            node = NodeProgress(m.group(1), time.monotonic())
            state.nodes[node.node_id] = node
            state.order.append(node.node_id)
            state.current = node.node_id
            self._say(f"  ▶ {node.node_id} ...")
        elif state.current and (m := runner_log.CACHED.match(msg)):
            state.nodes[state.current].outcome = "cached"
            state.nodes[state.current].execution_id = int(m.group(1))
        elif state.current and (m := runner_log.NEW.match(msg)):
            state.nodes[state.current].outcome = "executed"
            state.nodes[state.current].execution_id = int(m.group(1))
        elif state.current and runner_log.SKIPPED_EXECUTION.match(msg):
            state.nodes[state.current].outcome = "skipped"
        elif m := runner_log.FINISHED.match(msg):
            node = state.nodes.get(m.group(1))
            if node is None:
                return
            node.seconds = time.monotonic() - node.started
            if node.outcome == "running":
                node.outcome = "resolved"
            self._say(f"  ✓ {node.node_id:<32} {node.outcome:<9} {node.seconds:7.1f} s")
            state.current = None
        elif m := runner_log.SKIPPED_NODE.match(msg):
            self._say(f"  - {m.group(1):<32} skipped")

    def mark_failed(self, node_id: Optional[str]) -> None:
        """Show `node_id` (the node MLMD records as failed) as the run's failure."""
        if node_id is None:
            return
        node = self.state.nodes.get(node_id)
        if node is None:  # its start was not seen in the log
            self._say(f"  ✗ {node_id:<32} FAILED")
            return
        node.seconds = time.monotonic() - node.started
        node.outcome = "failed"
        self._say(f"  ✗ {node.node_id:<32} FAILED    {node.seconds:7.1f} s")


@contextlib.contextmanager
def logs_to_file(log_file: str):
    """Point fds 1 and 2 (and Python logging, redacted) at log_file, which only its owner may
    read; yield a stream to the real terminal."""
    os.makedirs(os.path.dirname(log_file), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    # The mode above applies to a new file only: one written by an older version may be 0644.
    os.fchmod(log_fd, 0o600)
    root = logging.getLogger()
    old_level, old_handlers = root.level, list(root.handlers)
    from absl import logging as absl_logging
    log_stream = os.fdopen(os.dup(log_fd), "w", buffering=1, encoding="utf-8")
    file_handler = logging.StreamHandler(log_stream)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redacting = RedactingFilter()
    file_handler.addFilter(redacting)
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        # Our handler is in place before TFX is imported, so its logging.basicConfig() call
        # adds no second handler.
        root.handlers = [file_handler]
        # The file handler comes first, so the handlers added during the run (the progress
        # lines) get the records it redacted; the root's own filter covers records logged on
        # the root logger before any handler sees them.
        root.addFilter(redacting)
        root.setLevel(logging.INFO)
        absl_logging.set_verbosity(absl_logging.INFO)
        yield terminal
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        root.handlers = old_handlers
        root.removeFilter(redacting)
        root.setLevel(old_level)
        absl_logging.set_verbosity(absl_logging.WARNING)
        log_stream.close()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, log_fd):
            os.close(fd)
        terminal.flush()
        terminal.close()
