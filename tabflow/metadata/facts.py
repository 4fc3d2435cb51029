"""The facts every reader asks of an artifact (its span, whether a blessing blessed, whether a
PushedModel pushed), derived here once from the properties the components record."""
from typing import Optional

from tabflow import contract as C
from tabflow.metadata.graph import custom

# An MLMD filter for the PushedModels that did push (a push of an already-served model did not).
PUSHED_FILTER = f"custom_properties.{C.PUSHED_PROPERTY}.int_value = 1"


def span(artifact) -> Optional[int]:
    """An MLMD artifact's span: ExampleGen writes it as a custom property (StatisticsGen copies
    the Examples' unset span *property*, so statistics always say 0)."""
    for props in (artifact.custom_properties, artifact.properties):
        if C.SPAN_PROPERTY in props:
            value = props[C.SPAN_PROPERTY]
            kind = value.WhichOneof("value")
            # KFP's container hands artifact metadata over as numbers of either kind.
            if kind in ("int_value", "double_value"):
                return int(getattr(value, kind))
    return None


def blessed(blessing) -> Optional[bool]:
    """A ModelBlessing's verdict; None for no blessing, or one recorded without a verdict."""
    if blessing is None or C.BLESSED_PROPERTY not in blessing.custom_properties:
        return None
    return bool(custom(blessing, C.BLESSED_PROPERTY, 0))


def pushed(pushed_model) -> bool:
    """Whether a PushedModel put its model into the serving folder."""
    return pushed_model is not None and custom(pushed_model, C.PUSHED_PROPERTY, 0) == 1
