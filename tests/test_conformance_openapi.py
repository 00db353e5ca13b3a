"""Generated events against Customer.io's own OpenAPI description of the reporting webhook.

Runs when ../shared/reference/ is beside the repository (skipped otherwise). The description has
known mistakes (DOMAIN.md §2); each is corrected here explicitly, not hidden:
- push_drafted declares metric "attempted": patched to "drafted";
- the preferences-changed schema names `object_type_type`: real payloads use `object_type`;
- preferences changes require a message variant (allOf + oneOf): generated with one here;
- email `deferred` has no schema (shape unpublished): not checked.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cio_aep.catalog import CATALOG, EventType
from cio_aep.generator import EventGenerator

REFERENCE = Path(__file__).resolve().parents[2] / "shared/reference"
SPEC = REFERENCE / "customer-io-reporting-webhooks.openapi.json"
jsonschema = pytest.importorskip("jsonschema")
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="../shared/reference is not here")


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC.read_text())
    schemas = spec["components"]["schemas"]
    # Known mistake 1: push drafted says "attempted".
    for part in schemas["push_drafted"]["allOf"]:
        metric = part.get("properties", {}).get("metric")
        if metric is not None:
            metric["enum"] = ["drafted"]
    # Known mistake 2: object_type_type.
    props = schemas["person_cio_subscription_preferences_changed"]["properties"]
    props["object_type"] = props.pop("object_type_type")
    return spec


def _schema_name(event: EventType) -> str | None:
    if event.metric == "deferred":
        return None
    if event.object_type == "customer":
        return {"subscribed": "person_subscribed", "unsubscribed": "person_unsubscribed",
                "cio_subscription_preferences_changed":
                "person_cio_subscription_preferences_changed"}[event.metric]  # fmt: skip
    return f"{event.object_type}_{event.metric}"


CASES = [(e, v.name if v else None) for e in CATALOG.events()
         for v in (e.variants or e.optional_variants or (None,))]  # fmt: skip


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _spec()


@pytest.mark.parametrize(("event", "variant"), CASES, ids=[f"{e.key}-{v}" for e, v in CASES])
def test_generated_event_matches_the_official_schema(
    spec: dict[str, Any], event: EventType, variant: str | None
) -> None:
    name = _schema_name(event)
    if name is None:
        pytest.skip("no published schema")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "components": spec["components"], "$ref": f"#/components/schemas/{name}"}  # fmt: skip
    validator = jsonschema.Draft202012Validator(schema)
    for mode in ({}, {"test_mode": True}, {"id_only": True}):
        generated = EventGenerator(seed=21, **mode).generate_event(event, variant)
        errors = [e.message for e in validator.iter_errors(copy.deepcopy(generated))]
        assert not errors, (mode, generated)


def test_a_broken_event_fails_the_official_schema(spec: dict[str, Any]) -> None:
    """The conformance check can fail: a wrong type is caught."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "components": spec["components"],
              "$ref": "#/components/schemas/email_clicked"}  # fmt: skip
    event = EventGenerator(seed=1).generate("email", "clicked")
    event["data"]["link_id"] = "not-an-integer"
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(event))
