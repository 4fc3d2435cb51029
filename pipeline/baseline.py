"""The model a candidate is judged against: the newest blessed model trained BEFORE it.

TFX's LatestBlessedModelStrategy returns the newest blessed model, whatever the candidate is.
On an unchanged rerun the Trainer is cached, the candidate IS that newest blessed model, and
the Evaluator compares the model with itself, blesses it again and Pusher writes a second
serving version of the same model. Judging a candidate only against models made before it
keeps an unchanged rerun's Evaluator inputs identical to the first run's, so the rerun is
served from the cache and pushes nothing; a rerun of an older span cannot push an old model
over a newer one either.
"""
from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.components.common import resolver

from tabflow import contract

# Input keys of the resolver: every blessed-model candidate, their blessings, and this run's
# candidate (the Trainer's output).
MODELS_KEY = contract.RESOLVED_MODEL_KEY
BLESSINGS_KEY = contract.RESOLVED_BLESSING_KEY
CANDIDATE_KEY = "candidate"


def baseline_for(candidates: List[types.Artifact], models: List[types.Artifact],
                 blessings: List[types.Artifact]) -> Dict[str, List[types.Artifact]]:
    """{model key: [baseline], blessing key: [its blessing], candidate key: candidates}; the
    first two are empty when the candidate has no blessed predecessor (the first model, or a
    rerun of the first model). Every input key is returned because TFX's legacy resolver
    driver (Airflow, InteractiveContext) publishes one output per input key.

    Artifact ids grow with creation, so "trained before" is "smaller id". The legacy driver
    hands over every model the Trainer ever output: the newest is this run's.
    """
    empty = {MODELS_KEY: [], BLESSINGS_KEY: [], CANDIDATE_KEY: list(candidates)}
    if not candidates:
        return empty
    candidate_id = max(a.id for a in candidates)
    blessed = {b.get_int_custom_property(contract.CURRENT_MODEL_PROPERTY): b for b in blessings
               if b.get_int_custom_property(contract.BLESSED_PROPERTY) == 1}
    older = sorted((m for m in models if m.id < candidate_id and m.id in blessed),
                   key=lambda m: m.id)
    if not older:
        return empty
    return {MODELS_KEY: [older[-1]], BLESSINGS_KEY: [blessed[older[-1].id]],
            CANDIDATE_KEY: list(candidates)}


class BlessedBeforeCandidateStrategy(resolver.ResolverStrategy):
    """Resolves the newest blessed Model older than the candidate, with its ModelBlessing."""

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        del store  # every artifact the choice needs arrives in input_dict
        return baseline_for(input_dict.get(CANDIDATE_KEY, []), input_dict.get(MODELS_KEY, []),
                            input_dict.get(BLESSINGS_KEY, []))
