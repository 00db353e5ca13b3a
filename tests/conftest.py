"""Shared pytest fixtures (additive: each block belongs to the part of the project it names)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

# --- hypothesis profiles ----------------------------------------------------------------------
# No deadlines anywhere: a loaded CI machine is slow, not wrong. Locally every run draws new
# examples, to find bugs; `.ci/run` picks "ci", which draws the same examples on every run, so a
# landing is never refused by a draw that the commit under test did not cause.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

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
