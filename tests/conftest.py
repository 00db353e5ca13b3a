"""Shared pytest fixtures (additive: each block belongs to the part of the project it names)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cio_aep.local_endpoint import RunningServer


# --- local endpoint (cio-aep serve) --------------------------------------------------------


@pytest.fixture
def local_endpoint() -> Iterator[RunningServer]:
    """A `cio-aep serve` endpoint on 127.0.0.1 (free port, in-memory store), stopped after.

    `.url`, `.inlet_url` (webhook URL with flow id), `.endpoint`, `.flow_id`, `.store`,
    `.stats`. For other settings (faults, signing key, store file) use
    `start_background_server(ServeConfig(...))` from `cio_aep.local_endpoint` in a `with` block.
    """
    from cio_aep.local_endpoint import start_background_server

    with start_background_server() as server:
        yield server
