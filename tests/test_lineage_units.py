"""Fast tests of the lineage package's pure parts, on real protos and real MLMD records."""
import math

import pytest
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

from lineage import render, stats
from lineage.graph import Graph


def test_linf_distance_over_normalized_counts():
    assert stats.linf_distance({"a": 1, "b": 1}, {"a": 2, "b": 2}) == 0.0
    assert stats.linf_distance({"a": 3, "b": 1}, {"a": 1, "b": 1}) == pytest.approx(0.25)
    assert stats.linf_distance({"a": 1}, {"b": 5}) == 1.0


def test_jensen_shannon_divergence_bounds_and_rebucketing():
    same = [(0.0, 1.0, 10.0), (1.0, 2.0, 30.0)]
    assert stats.js_divergence(same, [(0.0, 1.0, 1.0), (1.0, 2.0, 3.0)]) == pytest.approx(0.0)
    assert stats.js_divergence([(0.0, 1.0, 5.0)], [(2.0, 3.0, 5.0)]) == pytest.approx(1.0)
    # One wide bucket spread uniformly equals two halves with the same counts.
    assert stats.js_divergence([(0.0, 2.0, 10.0)],
                               [(0.0, 1.0, 5.0), (1.0, 2.0, 5.0)]) == pytest.approx(0.0)
    # Half the mass moved to a new interval: JS(p, q) with p=(1,0), q=(.5,.5).
    expected = 0.5 * (1 * math.log2(1 / 0.75)) + 0.5 * (
        0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25))
    assert stats.js_divergence([(0.0, 1.0, 4.0)],
                               [(0.0, 1.0, 2.0), (1.0, 2.0, 2.0)]) == pytest.approx(expected)


def _dataset(payment_counts, fare_buckets):
    dataset = statistics_pb2.DatasetFeatureStatistics(num_examples=100)
    payment = dataset.features.add()
    payment.path.step.append("payment_type")
    for value, count in payment_counts.items():
        payment.string_stats.top_values.add(value=value, frequency=count)
    fare = dataset.features.add()
    fare.path.step.append("fare")
    histogram = fare.num_stats.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    for low, high, count in fare_buckets:
        histogram.buckets.add(low_value=low, high_value=high, sample_count=count)
    return dataset


def test_feature_drifts_rank_features_by_distance():
    old = _dataset({"Cash": 50, "Card": 50}, [(0, 10, 50), (10, 20, 50)])
    new = _dataset({"Cash": 90, "Card": 10}, [(0, 10, 50), (10, 20, 50)])
    drifts = stats.feature_drifts(old, new)
    assert [(d.feature, d.measure) for d in drifts] == [
        ("payment_type", "L-infinity"), ("fare", "Jensen-Shannon")]
    assert drifts[0].distance == pytest.approx(0.4)
    assert drifts[1].distance == pytest.approx(0.0)


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
