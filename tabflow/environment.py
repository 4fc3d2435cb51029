"""The product's environment variables: `TABFLOW_<NAME>`. The names the project had while it
served the taxi data alone, `TAXI_<NAME>`, are still read, so that deployments made then keep
working; where both are set, `TABFLOW_<NAME>` wins. Ground floor: imports nothing of the
project."""
import os
from typing import Mapping, Optional, Tuple

PREFIX = "TABFLOW_"
LEGACY_PREFIX = "TAXI_"
PREFIXES = (PREFIX, LEGACY_PREFIX)


def name(suffix: str) -> str:
    """The variable to tell a user about: TABFLOW_<SUFFIX>."""
    return PREFIX + suffix


def names(suffix: str) -> Tuple[str, ...]:
    """Every variable that sets SUFFIX, the one that wins first."""
    return tuple(prefix + suffix for prefix in PREFIXES)


def set_as(suffix: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The variable that sets SUFFIX in `environ` (TABFLOW_ before TAXI_), or None."""
    environ = os.environ if environ is None else environ
    return next((key for key in names(suffix) if key in environ), None)


def get(suffix: str, environ: Optional[Mapping[str, str]] = None, default: str = "") -> str:
    environ = os.environ if environ is None else environ
    key = set_as(suffix, environ)
    return environ[key] if key is not None else default


def suffix_of(key: str) -> Optional[str]:
    """SUFFIX of a TABFLOW_SUFFIX or TAXI_SUFFIX variable; None for any other."""
    for prefix in PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return None
