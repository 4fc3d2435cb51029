"""What a cleanup may delete: only paths inside a root, judged on real paths, so a symlink
never leads a deletion out of it. Shared by gc (tabflow/registry/retention.py) and the Airflow retry
cleanup (tabflow/compat/legacy_launcher.py).

A path that is itself a symlink is judged, and removed, as the link: its target is never
touched. shutil.rmtree does not follow the symlinks inside a folder either; it unlinks them.
"""
import os
import shutil
from typing import Optional


class OutsideRoot(ValueError):
    """A deletion refused because the path is not inside the root; the message says why."""


def real_location(path: str) -> str:
    """The real path of `path`, or of the link itself when `path` is a symlink."""
    path = os.path.abspath(path)
    if os.path.islink(path):
        return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    return os.path.realpath(path)


def is_within(path: str, root: str) -> bool:
    """Whether `path` is strictly inside `root`; both must be real paths."""
    return path.startswith(root.rstrip(os.sep) + os.sep)


def refusal(path: str, root: str) -> Optional[str]:
    """Why `path` may not be deleted under `root`, or None when it may."""
    real, real_root = real_location(path), os.path.realpath(root)
    if not is_within(real, real_root):
        return f"its real path {real} is outside {real_root}"
    return None


def remove(path: str, root: str) -> None:
    """Deletes `path` (the link only, for a symlink) if it lies inside `root`; raises
    OutsideRoot otherwise."""
    why = refusal(path, root)
    if why is not None:
        raise OutsideRoot(f"will not delete {path}: {why}")
    real = real_location(path)
    if os.path.islink(real) or os.path.isfile(real):
        os.unlink(real)
    elif os.path.isdir(real):
        shutil.rmtree(real)
