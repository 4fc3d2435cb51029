"""Fast tests of the lineage package's pure parts, on real protos and real MLMD records."""
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tabflow.lineage import render
from tabflow.metadata.graph import Graph


def small_graph() -> Graph:
    """Examples -> Trainer (CACHED in a second run) -> Model, as MLMD records."""
    g = Graph()
    lineage = mlmd_pb2.LineageGraph()
    lineage.artifact_types.add(id=1, name="Examples")
    lineage.artifact_types.add(id=2, name="Model")
    lineage.execution_types.add(id=3, name="tfx.components.trainer.component.Trainer")
    lineage.context_types.add(id=4, name="node")
    lineage.artifacts.add(id=10, type_id=1, uri="/x/examples")
    lineage.artifacts.add(id=11, type_id=2, uri="/x/model")
    lineage.executions.add(id=20, type_id=3, last_known_state=mlmd_pb2.Execution.COMPLETE,
                           create_time_since_epoch=1)
    lineage.executions.add(id=21, type_id=3, last_known_state=mlmd_pb2.Execution.CACHED,
                           create_time_since_epoch=2)
    lineage.contexts.add(id=30, type_id=4, name="taxi.Trainer")
    for execution_id in (20, 21):
        lineage.associations.add(execution_id=execution_id, context_id=30)
        event = lineage.events.add(artifact_id=10, execution_id=execution_id,
                                   type=mlmd_pb2.Event.INPUT)
        event.path.steps.add(key="examples")
        event = lineage.events.add(artifact_id=11, execution_id=execution_id,
                                   type=mlmd_pb2.Event.OUTPUT)
        event.path.steps.add(key="model")
    return g.add(lineage)


def test_graph_tells_the_producer_from_cached_reusers():
    g = small_graph()
    assert g.producer(11) == 20
    assert g.writers(11) == [20, 21]
    assert g.node_id(20) == "Trainer"
    assert g.inputs(20) == {"examples": [10]}


def test_dot_and_svg_render_every_node_and_edge():
    g = small_graph()
    dot = render.to_dot(g)
    assert dot.startswith("digraph lineage {")
    for edge in ("a10 -> e20;", "e20 -> a11;", "a10 -> e21;", "e21 -> a11;"):
        assert edge in dot
    assert 'style="dashed,rounded"' in dot  # the CACHED execution
    svg = render.to_svg(g)
    assert svg.count("<rect") == 4 and svg.count("<line") == 4
    # Layers follow depth: examples, then executions, then the model.
    nodes, edges = render.nodes_and_edges(g)
    assert render.layers(nodes, edges) == {"a10": 0, "e20": 1, "e21": 1, "a11": 2}


def test_graph_json_lists_nodes_and_edges():
    shape = render.to_json(small_graph())
    assert [n["key"] for n in shape["nodes"]] == ["a10", "a11", "e20", "e21"]
    assert [n["cached"] for n in shape["nodes"]] == [False, False, False, True]
    assert {"from": "e20", "to": "a11"} in shape["edges"] and len(shape["edges"]) == 4


def test_html_page_is_self_contained():
    page = render.to_html(small_graph(), "run <x>")
    assert "<svg" in page and "run &lt;x&gt;" in page
    for external in ("<script", "src=", "href=", "@import", "url(http", "@font-face"):
        assert external not in page


def test_trace_shows_each_problem_types_key_metrics():
    from tabflow.lineage.text import _metrics
    assert _metrics({"auc": 0.91234, "example_count": 90.0, "loss": 0.3}) == \
        "auc=0.9123, example_count=90"
    assert _metrics({"accuracy": 0.9, "recall/class 0": 0.8, "example_count": 90.0}) == \
        "accuracy=0.9, example_count=90"
    assert _metrics({"root_mean_squared_error": 54.12, "mean_absolute_error": 44.0}) == \
        "root_mean_squared_error=54.12, mean_absolute_error=44"
