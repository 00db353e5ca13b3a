"""cio-aep: wire Customer.io reporting webhooks into Adobe Experience Platform, checked.

The public API is imported lazily so that `import cio_aep` (and every CLI command that does
not need them) stays fast: nothing heavy is loaded until it is used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# name -> module that defines it; resolved on first attribute access (PEP 562).
_LAZY = {
    "CioAepError": "cio_aep.errors",
    "EventCatalog": "cio_aep.catalog",
    "CATALOG": "cio_aep.catalog",
    "EventGenerator": "cio_aep.generator",
    "sign_body": "cio_aep.signing",
    "verify_signature": "cio_aep.signing",
    "validate_event": "cio_aep.event_validation",
    "build_webhook_url": "cio_aep.webhook_url",
    "parse_webhook_url": "cio_aep.webhook_url",
    "WebhookUrl": "cio_aep.webhook_url",
    "validate_mapping": "cio_aep.mapping",
    "MappingReport": "cio_aep.mapping",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cio_aep' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
