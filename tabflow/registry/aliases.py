"""Promote and rollback: point an alias of the serving folder at a version, and record the change
in MLMD as an execution with the model and its PushedModel as inputs, so `lineage trace
<alias>` follows it and "what served when" is a query (registry/catalog.history).

Each change holds the registry lock (tabflow/registry/lock.py) and settles what a killed command left
first (tabflow/registry/consistency.py). A journal entry is written before the model config, the config
before the MLMD record, and the entry removed last; the config is put back if the record cannot
be written, and by the next command if the process dies first: the serving folder never keeps
a change without its record in MLMD (tabflow/registry/journal.py).
"""
import os
from dataclasses import dataclass, field
from typing import List, Optional

from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tabflow.metadata.errors import NotFound
from tabflow import contract as C
from tabflow.registry import catalog, consistency, journal, serving
from tabflow.registry.lock import current_user, serving_lock

_STRING = mlmd_pb2.STRING
_INT = mlmd_pb2.INT
MODEL_PREFIX = "model:"
SERVING_SUBFOLDER = "Format-Serving"  # where TFX's Trainer writes the SavedModel
WAIT_SECONDS = 30.0


@dataclass
class Change:
    alias: str
    version: int
    previous_version: Optional[int]
    action: str
    reason: str
    user: str
    override: bool
    execution_id: int
    # What settling the serving folder first repaired or found inconsistent, one line each.
    notes: List[str] = field(default_factory=list)


def _execution_type(store) -> int:
    kind = mlmd_pb2.ExecutionType(name=C.ALIAS_CHANGE_TYPE)
    for name in C.ALIAS_PROPERTIES:
        kind.properties[name] = _INT if name == "override" else _STRING
    return store.put_execution_type(kind, can_add_fields=True)


def _pipeline_context(store, pipeline_name: str):
    context = store.get_context_by_type_and_name(C.PIPELINE_CONTEXT, pipeline_name)
    if context is None:
        raise NotFound(f"no pipeline {pipeline_name!r} in the store: run the pipeline first")
    return context


def _record(store, pipeline_name: str, serving_dir: str, change: dict, inputs, outputs=(),
            name: str = ""):
    execution = mlmd_pb2.Execution(type_id=_execution_type(store), name=name,
                                   last_known_state=mlmd_pb2.Execution.COMPLETE)
    for name in C.ALIAS_PROPERTIES:
        value = change.get(name)
        if name == "override":
            execution.properties[name].int_value = int(bool(value))
        elif name == "serving_dir":
            execution.properties[name].string_value = os.path.normpath(serving_dir)
        else:
            execution.properties[name].string_value = "" if value is None else str(value)
    pairs = []
    for kind, key, artifact in [*((mlmd_pb2.Event.INPUT, k, a) for k, a in inputs),
                                *((mlmd_pb2.Event.OUTPUT, k, a) for k, a in outputs)]:
        if artifact is None:
            continue
        event = mlmd_pb2.Event(type=kind)
        event.path.steps.add().key = key
        event.path.steps.add().index = 0
        pairs.append((artifact, event))
    execution_id, _, _ = store.put_execution(execution, pairs,
                                             [_pipeline_context(store, pipeline_name)])
    return execution_id


def _version_entry(store, pipeline_name, serving_dir, version: int) -> catalog.Version:
    on_disk = serving.versions(serving_dir)
    if version not in on_disk:
        shown = ", ".join(map(str, on_disk[-10:])) or "none"
        raise NotFound(f"no version {version} in {serving_dir} (versions there: {shown})")
    for entry in catalog.versions(store, pipeline_name, serving_dir):
        if entry.version == version:
            return entry
    raise NotFound(f"version {version} in {serving_dir} has no push recorded in the store")


def _newest_blessing(store, model_id: int) -> Optional[bool]:
    from tabflow.metadata.judgement import judgement_section
    from tabflow.metadata import graph
    g = graph.load(store, "upstream", 1, artifact_ids=[model_id])
    blessing = judgement_section(store, g, model_id, None).get("blessing")
    return None if blessing is None else blessing.get("blessed")


def _model(store, model_id: int):
    found = store.get_artifacts_by_id([model_id])
    if not found or store.get_artifact_types_by_id([found[0].type_id])[0].name != C.MODEL_TYPE:
        raise NotFound(f"no Model artifact with id {model_id}")
    return found[0]


def _artifact(store, artifact_id: Optional[int]):
    if artifact_id is None:
        return None
    found = store.get_artifacts_by_id([artifact_id])
    return found[0] if found else None


def _push_by_hand(store, serving_dir: str, model, override: bool, reason: str,
                  entry: journal.Entry) -> tuple:
    """Installs a Model the pipeline did not push as the entry's new version; returns
    (version, the PushedModel artifact to record as the change's output)."""
    source = os.path.join(model.uri, SERVING_SUBFOLDER)
    if not os.path.isdir(source):
        source = model.uri
    if not os.path.isdir(source):
        raise NotFound(f"the files of model {model.id} are gone ({model.uri})")
    version = serving.install_version(source, serving_dir, now=entry.version)
    if version != entry.version:
        entry.version = version
        journal.write(serving_dir, entry)
    journal.crash_point("alias-installed")
    destination = os.path.join(serving_dir, str(version))
    serving.write_record(serving_dir, serving.VersionRecord(version, model.uri, destination))
    pushed = mlmd_pb2.Artifact(type_id=store.get_artifact_type(C.PUSHED_MODEL_TYPE).id,
                               uri=destination, state=mlmd_pb2.Artifact.LIVE)
    pushed.custom_properties[C.PUSHED_PROPERTY].int_value = 1
    pushed.custom_properties[C.PUSHED_DESTINATION_PROPERTY].string_value = destination
    pushed.custom_properties[C.PUSHED_VERSION_PROPERTY].string_value = str(version)
    if override:
        pushed.custom_properties[C.OVERRIDE_PROPERTY].int_value = 1
        pushed.custom_properties[C.OVERRIDE_REASON_PROPERTY].string_value = reason
    return version, pushed


def _entry(serving_dir: str, alias: str, version: int, change: dict,
           installed_from: str = "") -> journal.Entry:
    return journal.write(serving_dir, journal.Entry(
        change["action"], alias, version, serving.read_labels(serving_dir).get(alias),
        installed=bool(installed_from), model_uri=installed_from,
        user=change.get("user") or current_user()))


def _apply(store, pipeline_name: str, serving_dir: str, entry: journal.Entry, change: dict,
           inputs, outputs=()) -> Change:
    """Points the entry's alias at its version, records the change, removes the entry."""
    alias, version, previous = entry.alias, entry.version, entry.previous
    change = {**change, "alias": alias, "version": version,
              "previous_version": "" if previous is None else previous, "user": entry.user}
    try:
        journal.crash_point("alias-journaled")
        labels = serving.read_labels(serving_dir)
        labels[alias] = version
        serving.write_labels(serving_dir, labels)
        journal.crash_point("alias-config-written")
        execution_id = _record(store, pipeline_name, serving_dir, change, inputs, outputs,
                               name=consistency.execution_name(entry.id))
    except BaseException:
        journal.undo(serving_dir, entry)
        raise
    journal.crash_point("alias-recorded")
    journal.remove(serving_dir, entry)
    return Change(alias, version, previous, change["action"], change.get("reason", ""),
                  change["user"], bool(change.get("override")), execution_id)


def _check_alias(alias: str) -> None:
    # TensorFlow Serving's version labels: letters, digits, '-' and '_'.
    if not alias or not all(c.isalnum() or c in "-_" for c in alias) or alias.isdigit():
        raise ValueError(f"alias {alias!r}: use letters, digits, '-' and '_' (not a number)")


def promote(store, pipeline_name: str, serving_dir: str, target: str, alias: str = C.SERVING_ALIAS,
            reason: str = "", force: bool = False, user: str = "",
            wait_seconds: float = WAIT_SECONDS) -> Change:
    """Points `alias` at `target`: a serving version number, or `model:<id>` for a Model
    artifact (installed as a new version unless it already serves from one).

    A model that was not blessed needs `force` and a reason: the version is then marked as a
    blessing override in MLMD, and every listing shows it."""
    _check_alias(alias)
    if not serving.is_local(serving_dir):
        raise ValueError(f"serving_dir {serving_dir}: promote works on a local folder")
    with serving_lock(serving_dir, "promote", wait_seconds):
        notes = consistency.settle(store, serving_dir)
        change = _promote(store, pipeline_name, serving_dir, target, alias, reason, force, user)
    change.notes = notes
    return change


def _promote(store, pipeline_name: str, serving_dir: str, target: str, alias: str,
             reason: str, force: bool, user: str) -> Change:
    reason = reason.strip()
    if target.startswith(MODEL_PREFIX):
        number = target[len(MODEL_PREFIX):]
        if not number.isdigit():
            raise ValueError(f"expected model:<artifact id>, got {target!r}")
        model = _model(store, int(number))
        already = [v for v in catalog.versions(store, pipeline_name, serving_dir)
                   if v.model_id == model.id and v.files_exist]
        if already:
            return _promote(store, pipeline_name, serving_dir, str(already[-1].version), alias,
                            reason, force, user)
        blessed = _newest_blessing(store, model.id)
        override = not blessed
        _refuse_unblessed(override, force, reason, f"model {model.id}",
                          "was not blessed" if blessed is False else "was never evaluated")
        change = {"action": "promote --force" if override else "promote", "reason": reason,
                  "override": override, "user": user}
        entry = _entry(serving_dir, alias, serving.next_version(serving_dir), change,
                       installed_from=model.uri)
        try:
            _, pushed = _push_by_hand(store, serving_dir, model, override, reason, entry)
        except BaseException:
            journal.undo(serving_dir, entry)
            raise
        return _apply(store, pipeline_name, serving_dir, entry, change,
                      [(C.ALIAS_INPUT_MODEL, model)], [(C.ALIAS_INPUT_PUSHED_MODEL, pushed)])
    if not target.isdigit():
        raise ValueError(f"expected a version number or model:<artifact id>, got {target!r}")
    entry = _version_entry(store, pipeline_name, serving_dir, int(target))
    version = entry.version
    override = not entry.blessed and not entry.override
    _refuse_unblessed(override, force, reason, f"version {version}", "was not blessed")
    inputs = [(C.ALIAS_INPUT_MODEL, _artifact(store, entry.model_id)),
              (C.ALIAS_INPUT_PUSHED_MODEL, _artifact(store, entry.pushed_model_id))]
    change = {"action": "promote --force" if override else "promote", "reason": reason,
              "override": override, "user": user}
    return _apply(store, pipeline_name, serving_dir, _entry(serving_dir, alias, version, change),
                  change, inputs)


def _refuse_unblessed(override: bool, force: bool, reason: str, what: str, why: str) -> None:
    if override and not force:
        raise ValueError(f"{what} {why}: promote it only with --force and --reason")
    if override and not reason:
        raise ValueError(f"{what} {why}: a forced promote needs --reason")


def rollback(store, pipeline_name: str, serving_dir: str, to: Optional[int] = None,
             alias: str = C.SERVING_ALIAS, reason: str = "", exclude_span: Optional[int] = None,
             user: str = "", wait_seconds: float = WAIT_SECONDS) -> Change:
    """Points `alias` back: at `to`, or by default at the newest version older than the
    current one that the alias pointed at before (skipping versions trained on
    `exclude_span`)."""
    _check_alias(alias)
    if not serving.is_local(serving_dir):
        raise ValueError(f"serving_dir {serving_dir}: rollback works on a local folder")
    with serving_lock(serving_dir, "rollback", wait_seconds):
        notes = consistency.settle(store, serving_dir)
        change = _rollback(store, pipeline_name, serving_dir, to, alias, reason, exclude_span,
                           user)
    change.notes = notes
    return change


def _rollback(store, pipeline_name: str, serving_dir: str, to: Optional[int], alias: str,
              reason: str, exclude_span: Optional[int], user: str) -> Change:
    labels = serving.read_labels(serving_dir)
    entries = catalog.versions(store, pipeline_name, serving_dir)
    current = labels.get(alias)
    if current is None and alias == C.SERVING_ALIAS and entries:
        current = entries[-1].version  # no config yet: the newest version serves
    if to is None:
        to = rollback_target(store, serving_dir, entries, alias, current, exclude_span)
    entry = _version_entry(store, pipeline_name, serving_dir, to)
    if to == current:
        raise ValueError(f"version {to} is already the {alias!r} version")
    change = {"action": "rollback", "reason": reason.strip(), "override": entry.override,
              "user": user}
    return _apply(store, pipeline_name, serving_dir, _entry(serving_dir, alias, to, change),
                  change, [(C.ALIAS_INPUT_MODEL, _artifact(store, entry.model_id)),
                           (C.ALIAS_INPUT_PUSHED_MODEL, _artifact(store, entry.pushed_model_id))])


def rollback_target(store, serving_dir: str, entries: List[catalog.Version], alias: str,
                    current: Optional[int], exclude_span: Optional[int] = None) -> int:
    """The newest version below `current` that `alias` pointed at before, whose files exist
    and (with exclude_span) whose model does not derive from that span's Examples (the lineage
    `lineage impact <span>` shows)."""
    derived = set()
    if exclude_span is not None:
        from tabflow.lineage.impact import derived_model_ids
        derived = derived_model_ids(store, f"span:{exclude_span}")
    allowed = {e.version for e in entries if e.files_exist and e.model_id not in derived}
    served = {e["version"] for e in catalog.history(store, serving_dir) if e["alias"] == alias}
    if exclude_span is None:
        older = sorted(v for v in served & allowed if current is None or v < current)
    else:  # leaving a bad span behind: any version it did not make, but the current one
        older = sorted(v for v in served & allowed if v != current)
    if not older:
        what = f" not trained on span {exclude_span}" if exclude_span is not None else ""
        raise NotFound(f"no earlier {alias!r} version{what} to roll back to in {serving_dir}")
    return older[-1]


def describe_change(change: Change) -> str:
    before = "nothing" if change.previous_version is None else f"version {change.previous_version}"
    text = (f"{change.alias}: {before} -> version {change.version} ({change.action} by "
            f"{change.user}; MLMD execution {change.execution_id})")
    if change.reason:
        text += f"\n  reason: {change.reason}"
    if change.override:
        text += "\n  BLESSING OVERRIDE: this model was not blessed by the Evaluator"
    return text
