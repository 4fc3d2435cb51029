"""Content fingerprints that make cache keys and provenance follow file contents, not paths."""
import hashlib
from pathlib import Path
from typing import Iterable


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_files(paths: Iterable) -> str:
    """One digest over several files, keyed by file name so renames count as changes."""
    h = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        h.update(path.name.encode())
        h.update(b"\0")
        h.update(sha256_file(path).encode())
    return h.hexdigest()


def modules_fingerprint() -> str:
    """Digest of the user code package (`modules/`) that Transform, Tuner and Trainer import."""
    import modules
    return sha256_files(Path(modules.__file__).parent.glob("*.py"))
