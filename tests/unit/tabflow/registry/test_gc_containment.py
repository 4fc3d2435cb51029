"""gc deletes only what it may (tabflow/registry/retention.py, tabflow/registry/containment.py): real paths
inside the pipeline root, symlinks unlinked and never followed, no folder holding a kept
artifact, and only this pipeline's artifacts in a store another pipeline shares."""
import os

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb

from tabflow.registry import containment, retention
from tests.support.mlmd_records import sqlite_writer


def _folder(path, payload=b"data"):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "part-0"), "wb") as f:
        f.write(payload)
    return str(path)


def _produce(writer, pipeline, run_id, uris):
    """A run of `pipeline` whose one execution output an artifact at each uri."""
    run = writer.ir_run(run_id, {}, pipeline=pipeline)
    kind = writer.store.put_execution_type(pb.ExecutionType(name="Transform"))
    pairs = []
    for uri in uris:
        event = pb.Event(type=pb.Event.OUTPUT)
        event.path.steps.add().key = "out"
        pairs.append((pb.Artifact(type_id=writer.examples_type, uri=uri,
                                  state=pb.Artifact.LIVE), event))
    _, ids, _ = writer.store.put_execution(
        pb.Execution(type_id=kind, last_known_state=pb.Execution.COMPLETE), pairs,
        [writer.pipelines[pipeline], run])
    return dict(zip(uris, ids))


@pytest.fixture
def layout(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    escape_target = _folder(outside / "linked-target")
    inner_target = _folder(outside / "inner-target")
    parent_target = _folder(outside / "parent-target")
    links = {
        "symlinked_uri": root / "Trainer" / "model" / "1",
        "link_inside": root / "Transform" / "out" / "2",
        "holds_kept": root / "Big" / "3",
        "other_pipeline": root / "Shared" / "4",
        "escaping_parent": root / "linked" / "5",
        "plain": root / "Plain" / "6",
    }
    os.makedirs(links["symlinked_uri"].parent)
    os.symlink(escape_target, links["symlinked_uri"])
    _folder(links["link_inside"])
    os.symlink(inner_target, links["link_inside"] / "escape")
    _folder(links["holds_kept"])
    _folder(links["holds_kept"] / "nested")  # the other pipeline's artifact, inside ours
    _folder(links["other_pipeline"])
    os.symlink(os.path.dirname(parent_target), root / "linked")
    _folder(outside / "5")
    _folder(links["plain"])
    writer = sqlite_writer(tmp_path / "mlmd.sqlite")
    ours = _produce(writer, "taxi", "local-2026-01-01T00:00:00", [str(p) for p in links.values()])
    theirs = _produce(writer, "other", "local-2026-01-02T00:00:00",
                      [str(links["other_pipeline"]), str(links["holds_kept"] / "nested")])
    # The other pipeline recorded the overlapping URI as an artifact of its own, and the
    # shared one is attributed to both pipelines.
    writer.store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=ours[str(links["other_pipeline"])],
                        context_id=writer.pipelines["other"].id)], [])
    return writer.store, str(root), links, tmp_path, theirs


def test_gc_removes_only_inside_the_root_and_never_a_kept_artifacts_folder(layout):
    store, root, links, tmp_path, theirs = layout
    before = sorted(os.path.join(d, n) for d, _, names in os.walk(tmp_path / "outside")
                    for n in names)
    plan = retention.plan(store, "taxi", root, str(tmp_path / "serving" / "taxi"), 0, 0)
    removed = {r.uri for r in plan.artifacts}
    skipped = {s.uri: s.reason for s in plan.skipped}
    assert not {s.artifact_id for s in plan.skipped} & set(theirs.values())
    assert removed == {str(links["symlinked_uri"]), str(links["link_inside"]),
                       str(links["plain"])}
    assert "is outside" in skipped[str(links["escaping_parent"])]
    assert skipped[str(links["other_pipeline"])] == "an artifact of pipeline 'other'"
    assert skipped[str(links["holds_kept"])].startswith("it holds ")
    # A symlinked URI frees nothing: its target is not ours.
    assert [r.bytes for r in plan.artifacts if r.uri == str(links["symlinked_uri"])] == [0]

    retention.apply(store, str(tmp_path / "serving" / "taxi"), plan)
    after = sorted(os.path.join(d, n) for d, _, names in os.walk(tmp_path / "outside")
                   for n in names)
    assert after == before  # nothing outside the root was touched
    assert not os.path.lexists(links["symlinked_uri"]) and not os.path.exists(links["plain"])
    assert not os.path.lexists(links["link_inside"])
    assert os.path.isfile(links["holds_kept"] / "nested" / "part-0")
    assert os.path.isfile(links["other_pipeline"] / "part-0")
    states = {a.uri: a.state for a in store.get_artifacts()}
    assert states[str(links["plain"])] == pb.Artifact.DELETED
    assert states[str(links["holds_kept"])] == pb.Artifact.LIVE


def test_removal_refuses_a_path_whose_real_path_leaves_the_root(tmp_path):
    root = tmp_path / "root"
    target = _folder(tmp_path / "elsewhere" / "x")
    os.makedirs(root)
    os.symlink(os.path.dirname(target), root / "up")
    with pytest.raises(containment.OutsideRoot, match="is outside"):
        containment.remove(str(root / "up" / "x"), str(root))
    with pytest.raises(containment.OutsideRoot):
        containment.remove(str(root), str(root))
    assert os.path.isfile(os.path.join(target, "part-0"))
