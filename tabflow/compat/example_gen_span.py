"""The span CsvExampleGen will read, found the way its driver finds it.

Relies on tfx.components.example_gen.utils.calculate_splits_fingerprint_span_and_version
(TFX 1.16.0), the function the file-based ExampleGen driver resolves a span with: not part of
tfx.v1, so its name, parameters and (fingerprint, span, version) result are pinned. It rewrites
the patterns of the splits it is given in place (the span's number for {SPAN}).
"""
from typing import Iterable, Optional


def example_gen_span(input_base: str, splits: Iterable, range_config: Optional[object]) -> int:
    """The span ExampleGen's driver resolves for `splits` (example_gen_pb2.Input.Split, changed
    in place) under `input_base`, within `range_config` (None: the latest span)."""
    from tfx.components.example_gen import utils
    _, span, _ = utils.calculate_splits_fingerprint_span_and_version(
        input_base, splits, range_config)
    return span
