"""The local endpoint behind `cio-aep serve`: answers like AEP's streaming endpoint.

`EndpointApp` is the ASGI app (drive it in-process with httpx.ASGITransport);
`start_background_server(ServeConfig(...))` runs it with uvicorn on 127.0.0.1 in a thread and
returns a `RunningServer` (`.url`, `.inlet_url`, `.store`, `.stats`, `.stop()`, context manager).
Importing this package does not import uvicorn (only starting a server does).
"""

from __future__ import annotations

from cio_aep.local_endpoint.app import EndpointApp, ServeConfig, Stats
from cio_aep.local_endpoint.faults import FaultConfig
from cio_aep.local_endpoint.server import RunningServer, start_background_server
from cio_aep.local_endpoint.store import EventStore

__all__ = [
    "EndpointApp",
    "EventStore",
    "FaultConfig",
    "RunningServer",
    "ServeConfig",
    "Stats",
    "start_background_server",
]
