"""The PipelineSpec TFX's KubeflowV2 compiler writes, read and fixed where it is wrong.

Relies on the layout TFX 1.16.0's compiler (tfx/orchestration/kubeflow/v2) gives the spec: the
pipeline's tasks sit in the root DAG, or under the `tfx-dag` sub-DAG when there is an exit
handler; a Cond becomes a task's triggerPolicy.condition over `inputs.artifacts['_<producer>.
<output key>']`, the implicit input key of the channel it tests.
"""
import re

# The sub-DAG TFX's compiler puts the pipeline's tasks in when there is an exit handler.
TFX_DAG = "tfx-dag"

_CONDITION_INPUT = re.compile(r"inputs\.artifacts\['(_([^'.]+)\.([^']+))'\]")


def pipeline_tasks(spec: dict) -> dict:
    """The pipeline's own tasks in a PipelineSpec dict: under the `tfx-dag` sub-DAG when the
    spec has an exit handler (the Vertex target), else the root DAG's."""
    root = spec["root"]["dag"]["tasks"]
    if TFX_DAG in root:
        return spec["components"][TFX_DAG]["dag"]["tasks"]
    return root


def fix_conditions(spec: dict) -> None:
    """Points each task's trigger condition at the input it really has.

    TFX 1.16's KubeflowV2 compiler writes a Cond's predicate over the implicit key of the
    channel it tests (`inputs.artifacts['_Evaluator.blessing']`), and adds that key to the
    task's inputs only when the task does not consume the channel already. Pusher consumes it
    (as `model_blessing`), so the condition named an input the task lacks, and the platform
    could not evaluate it. The condition is rewritten to the input that carries the channel.
    """
    for task in pipeline_tasks(spec).values():
        condition = task.get("triggerPolicy", {}).get("condition")
        if not condition:
            continue
        artifacts = task.get("inputs", {}).get("artifacts", {})

        def own_key(match):
            key, producer, output = match.groups()
            if key in artifacts:
                return match.group(0)
            for name, source in artifacts.items():
                upstream = source.get("taskOutputArtifact", {})
                if (upstream.get("producerTask"), upstream.get("outputArtifactKey")) == \
                        (producer, output):
                    return f"inputs.artifacts['{name}']"
            raise ValueError(f"task {task['taskInfo']['name']}: its condition reads {key}, "
                             f"which is neither an input nor the output of an upstream task it "
                             f"takes")

        task["triggerPolicy"]["condition"] = _CONDITION_INPUT.sub(own_key, condition)
