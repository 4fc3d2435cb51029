"""`impact`: everything derived from a data span or an Examples artifact, and what serves now."""
import os
from typing import Dict, List, Optional, Set

from ml_metadata.metadata_store import ListOptions

from tabflow.metadata import graph
from tabflow.metadata.artifacts import describe, fill_reuse
from tabflow.metadata.errors import NotFound
from tabflow.metadata.graph import custom
from tabflow import contract as C


def resolve_examples(store, spec: str) -> List[int]:
    """Examples ids for `span:N`, `id:N`, or a bare N: span N if there is one, else the
    Examples artifact with id N (spans and artifact ids are both small numbers)."""
    kind, _, number = spec.rpartition(":")
    if not number.isdigit() or kind not in ("", "span", "id"):
        raise NotFound(f"expected a span number or an Examples artifact id, got {spec!r}")
    if kind in ("", "span"):
        found = store.get_artifacts(list_options=ListOptions(
            filter_query=(f"type = '{C.EXAMPLES_TYPE}' AND "
                          f"custom_properties.{C.SPAN_PROPERTY}.int_value = {number}")))
        if found or kind == "span":
            if not found:
                raise NotFound(f"no Examples artifact for span {number}")
            return sorted(a.id for a in found)
    found = store.get_artifacts(list_options=ListOptions(
        filter_query=f"type = '{C.EXAMPLES_TYPE}' AND id = {number}"))
    if not found:
        raise NotFound(f"no span {number} and no Examples artifact with id {number}")
    return [found[0].id]


def serving_now(store) -> Dict[str, int]:
    """{serving base directory: PushedModel id}: per directory, the version its model config
    labels `serving`, else the newest push still on disk."""
    pushed = store.get_artifacts(list_options=ListOptions(
        filter_query=(f"type = '{C.PUSHED_MODEL_TYPE}' AND "
                      f"custom_properties.{C.PUSHED_PROPERTY}.int_value = 1")))
    out: Dict[str, tuple] = {}
    for artifact in pushed:
        destination = custom(artifact, C.PUSHED_DESTINATION_PROPERTY) or ""
        if not os.path.isdir(destination):
            continue
        base = os.path.dirname(destination.rstrip("/"))
        key = (artifact.create_time_since_epoch, artifact.id)
        if base not in out or key > out[base][0]:
            out[base] = (key, artifact.id)
    serving = {base: artifact_id for base, (_, artifact_id) in out.items()}
    # Where the folder's model config names a `serving` version (promote, rollback), that one.
    from tabflow.registry import serving as folder
    by_destination = {(custom(a, C.PUSHED_DESTINATION_PROPERTY) or "").rstrip("/"): a.id
                      for a in sorted(pushed, key=lambda a: a.id, reverse=True)}
    for base in serving:
        version = folder.read_labels(base).get(C.SERVING_ALIAS) if folder.is_local(base) else None
        chosen = by_destination.get(os.path.join(base, str(version)))
        if chosen is not None:
            serving[base] = chosen
    return serving


def derived_model_ids(store, spec: str) -> Set[int]:
    """Ids of every Model trained, directly or not, on the Examples `spec` names."""
    g = graph.load(store, "downstream", graph.MAX_HOPS, artifact_ids=resolve_examples(store, spec))
    return {a.id for a in g.artifacts_of_type(C.MODEL_TYPE)}


def versions_section(store, pipeline_name: str, serving_dir: str,
                     derived: Set[int]) -> Dict[str, object]:
    """The serving folder's aliased versions, whether each derives from the examples, and the
    newest version that does not (what `rollback --exclude-span` goes back to)."""
    from tabflow.registry import catalog
    entries = catalog.versions(store, pipeline_name, serving_dir)
    clean = [e for e in entries if e.files_exist and e.model_id not in derived]
    return {
        "aliased_versions": [{"version": e.version, "aliases": e.aliases, "model_id": e.model_id,
                              "derived_from_these_examples": e.model_id in derived}
                             for e in entries if e.aliases],
        "rollback_target": clean[-1].version if clean else None,
    }


def impact(store, spec: str, pipeline_name: Optional[str] = None,
           serving_dir: Optional[str] = None) -> Dict[str, object]:
    examples_ids = resolve_examples(store, spec)
    g = graph.load(store, "downstream", graph.MAX_HOPS, artifact_ids=examples_ids)
    graph.load(store, "upstream", 1, artifact_ids=examples_ids, graph=g)  # their producers
    serving = serving_now(store)
    serving_ids = set(serving.values())
    derived: Dict[str, List[dict]] = {name: [] for name in C.DERIVED_TYPES}
    for type_name in C.DERIVED_TYPES:
        for artifact in g.artifacts_of_type(type_name):
            entry = describe(g, artifact.id)
            if type_name == C.MODEL_BLESSING_TYPE:
                entry["blessed"] = bool(custom(artifact, C.BLESSED_PROPERTY, 0))
                entry["model_id"] = custom(artifact, C.CURRENT_MODEL_PROPERTY)
            if type_name == C.PUSHED_MODEL_TYPE:
                entry["pushed"] = bool(custom(artifact, C.PUSHED_PROPERTY, 0))
                entry["destination"] = custom(artifact, C.PUSHED_DESTINATION_PROPERTY)
                entry["serving_now"] = artifact.id in serving_ids
            derived[type_name].append(entry)
    examples = [{**describe(g, i), "span": custom(g.artifacts[i], C.SPAN_PROPERTY)} for i in examples_ids]
    fill_reuse(store, g, examples + [e for entries in derived.values() for e in entries])
    versions = (versions_section(store, pipeline_name, serving_dir,
                                 {a.id for a in g.artifacts_of_type(C.MODEL_TYPE)})
                if pipeline_name and serving_dir else {})
    return {
        **versions,
        "examples": examples,
        "derived": derived,
        "serving_now": [{"base_directory": base, "pushed_model_id": pid,
                         "derived_from_these_examples": pid in g.artifacts}
                        for base, pid in sorted(serving.items())],
    }
