"""Where the project's files are, and the two checks every section uses."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def absolute(path: str) -> str:
    """Local paths become absolute; URIs such as gs://bucket/dir are kept as they are."""
    if "://" in path:
        return path.rstrip("/")
    return str(Path(path).expanduser().resolve())


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"config setting {message}")
