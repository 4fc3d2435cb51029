"""Checks an OpenLineage RunEvent (as JSON) against what spec 2-0-2 requires of it, and the
project's own facets against their JSON schema (monitoring/openlineage_facets.json).

OpenLineage's own JSON schema is published on openlineage.io and in its repository but ships in
no package installable here (openlineage-python carries classes generated from it, not the
schema), so the spec's requirements for a RunEvent are checked one by one below."""
import datetime
import json
import uuid
from urllib.parse import urlparse

import jsonschema

from tabflow.monitoring.openlineage import FACETS_SCHEMA, FACETS_SCHEMA_URL

EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}
SPEC_FACETS = "https://openlineage.io/spec/facets/"
_OWN = json.loads(FACETS_SCHEMA.read_text())


def _uri(value, where):
    assert isinstance(value, str) and urlparse(value).scheme, f"{where}: not a URI: {value!r}"


def _facet(name, facet, where):
    where = f"{where}.{name}"
    assert isinstance(facet, dict), where
    _uri(facet.get("_producer"), f"{where}._producer")
    url = facet.get("_schemaURL")
    _uri(url, f"{where}._schemaURL")
    if url.startswith(FACETS_SCHEMA_URL + "#/$defs/"):
        definition = url.split("#/$defs/", 1)[1]
        schema = {**_OWN, "$ref": f"#/$defs/{definition}"}
        jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()).validate(facet)
    else:
        assert url.startswith(SPEC_FACETS), f"{where}: facet schema {url} is not the spec's"


def _facets(facets, where):
    assert isinstance(facets, dict), where
    for name, facet in facets.items():
        _facet(name, facet, where)


def check_run_event(event: dict) -> None:
    for key in ("eventTime", "producer", "schemaURL", "run", "job"):
        assert key in event, f"RunEvent without {key}"
    moment = datetime.datetime.fromisoformat(event["eventTime"])
    assert moment.tzinfo is not None and "T" in event["eventTime"], event["eventTime"]
    _uri(event["producer"], "producer")
    assert event["schemaURL"].startswith("https://openlineage.io/spec/") and \
        event["schemaURL"].endswith("#/$defs/RunEvent"), event["schemaURL"]
    assert event.get("eventType") in EVENT_TYPES, event.get("eventType")
    uuid.UUID(event["run"]["runId"])
    _facets(event["run"].get("facets", {}), "run.facets")
    for key in ("namespace", "name"):
        assert isinstance(event["job"][key], str) and event["job"][key], f"job.{key}"
    _facets(event["job"].get("facets", {}), "job.facets")
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for dataset in event.get(side, []):
            for key in ("namespace", "name"):
                assert isinstance(dataset[key], str) and dataset[key], f"{side}.{key}"
            _facets(dataset.get("facets", {}), f"{side}.facets")
            _facets(dataset.get(extra, {}), f"{side}.{extra}")
