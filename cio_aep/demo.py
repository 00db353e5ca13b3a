"""The whole job end to end against the built-in local endpoint (`cio-aep demo`).

Starts `serve` on a free loopback port in this process, builds and checks the webhook URL,
validates the example mapping, sends one signed event of every AEP-supported type exactly as
Customer.io would, and reads back what the endpoint stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cio_aep.signing import SigningKey

DEMO_KEY = SigningKey("cio-aep-demo-signing-key")  # a throwaway key, for the local endpoint only
# Shipped inside the package, so the demo also works from an installed wheel.
DEMO_MAPPING = Path(__file__).resolve().parent / "demo_mapping.json"


@dataclass
class DemoRow:
    key: str
    event_id: str
    status: int | None
    accepted: bool
    xaction_id: str | None
    title: str
    latency_ms: float
    stored: bool = False


@dataclass
class DemoResult:
    url: str = ""
    mapping_ok: bool = False
    mapping_summary: list[str] = field(default_factory=list)
    schema_fields: int = 0
    rows: list[DemoRow] = field(default_factory=list)
    stored: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.mapping_ok
            and bool(self.rows)
            and all(r.accepted and r.stored for r in self.rows)
        )


def _count_leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_leaves(v) for v in value[:1])
    return 1


def run_demo(
    *, seed: int | None = None, step: Callable[[str], None] = lambda _: None
) -> DemoResult:
    """Run every step; `step` is told what is happening (for a progress line)."""
    from cio_aep.catalog import CATALOG
    from cio_aep.delivery.httpx_sender import send_events
    from cio_aep.delivery.request import build_delivery
    from cio_aep.generator import EventGenerator
    from cio_aep.local_endpoint.app import ServeConfig
    from cio_aep.local_endpoint.server import start_background_server
    from cio_aep.mapping import validate_mapping
    from cio_aep.source_schema import superset_sample
    from cio_aep.webhook_url import build_webhook_url

    result = DemoResult()
    generator = EventGenerator(seed)
    step("generating the source-schema sample (every AEP-supported field)")
    result.schema_fields = _count_leaves(superset_sample(CATALOG.aep_supported(), generator))

    step("validating the example mapping")
    report = validate_mapping(str(DEMO_MAPPING))
    result.mapping_ok = report.ok
    result.mapping_summary = [
        f"{'✓' if item.ok else '✗'} {item.label}  {item.detail}".rstrip()
        for item in report.checklist
    ]

    step("starting the local AEP endpoint on 127.0.0.1")
    with start_background_server(ServeConfig(signing_key=DEMO_KEY)) as server:
        url = build_webhook_url(server.endpoint, server.flow_id)
        result.url = str(url)
        events = generator.generate_all()
        step(f"sending {len(events)} signed events, one per AEP-supported type")
        deliveries = [build_delivery(url.request_url(), event) for event in events]
        for sent in send_events(deliveries, DEMO_KEY):
            d = sent.delivery
            result.rows.append(DemoRow(d.key or "?", d.event_id or "?", sent.outcome.status,
                                       sent.outcome.accepted, sent.outcome.xaction_id,
                                       sent.outcome.title, sent.latency_ms))  # fmt: skip
        stored = server.store.event_ids()
        result.stored = len(stored)
        for row in result.rows:
            row.stored = row.event_id in stored
    return result
