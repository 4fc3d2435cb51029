"""What an Evaluator judged of a model, read from MLMD and the evaluation it wrote: the one
place the lineage trace, the model registry and the alias commands learn whether a model was
blessed, against which baseline, with which metrics."""
from typing import Optional

from tabflow import contract as C
from tabflow.artifacts import evaluation
from tabflow.metadata import graph
from tabflow.metadata.artifacts import baseline_model, describe, evaluated_splits
from tabflow.metadata.graph import Graph, custom


def has_files(g: Graph, artifact_id: Optional[int]) -> bool:
    """False for an artifact `tabflow gc` removed the files of: its record is all
    there is to show."""
    return (artifact_id is not None and artifact_id in g.artifacts
            and not custom(g.artifacts[artifact_id], C.FILES_REMOVED_PROPERTY))


def judgement_section(store, g: Graph, model_id: int, blessing_id: Optional[int]):
    """Evaluation metrics and the blessing (with its baseline) of the model.

    For a Model target (no Pusher to name the blessing), the newest blessing of this model.
    """
    if blessing_id is None:
        graph.load(store, "downstream", 2, artifact_ids=[model_id], graph=g)
        evaluators = [e for e in g.consumers(model_id, key=C.EVALUATOR_INPUT_MODEL)
                      if g.node_id(e) == C.EVALUATOR and g.state(e) == "COMPLETE"]
        if not evaluators:
            return {"evaluation": None, "blessing": None}
        blessing_id = g.output(evaluators[-1], C.BLESSING_KEY)
    else:
        graph.load(store, "upstream", 1, artifact_ids=[blessing_id], graph=g)
    evaluator = g.producer(blessing_id)
    if evaluator is None:
        return {"evaluation": None, "blessing": describe(g, blessing_id)}
    graph.load_executions(store, [evaluator], graph=g)
    evaluation_id = g.output(evaluator, C.EVALUATION_KEY)
    evaluation_out = describe(g, evaluation_id)
    if evaluation_out is not None and not has_files(g, evaluation_id):
        evaluation_out.update(metrics={"candidate": {}, "baseline": {}, "diff": {}},
                              validation_ok=None, splits=evaluated_splits(g, evaluator))
    elif evaluation_out is not None:
        evaluation_out["metrics"] = evaluation.overall_metrics(evaluation_out["uri"])
        evaluation_out["validation_ok"] = evaluation.validation_ok(evaluation_out["uri"])
        evaluation_out["splits"] = evaluated_splits(g, evaluator)
    blessing = g.artifacts[blessing_id]
    baseline_id = baseline_model(store, g, evaluator, blessing_id)
    blessing_out = {**describe(g, blessing_id), "blessed": bool(custom(blessing, C.BLESSED_PROPERTY, 0)),
                    "current_model_id": custom(blessing, C.CURRENT_MODEL_PROPERTY),
                    "baseline_model_id": baseline_id}
    if baseline_id is not None:
        blessing_out["baseline_run"] = (describe(g, baseline_id) or {}).get("run")
    return {"evaluation": evaluation_out, "blessing": blessing_out}
