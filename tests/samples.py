"""Test data shared by several test modules (imported by name: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import json
from typing import Any

# Our own copy of the sample in Adobe's Customer.io tutorial, as text: `generate-schema` must
# print it byte for byte. test_cli_generate_schema also compares it with the reference file
# when ../shared is present.
ADOBE_TEXT = """{
  "event_id": "01E4C4CT6YDC7Y5M7FE1GWWPQJ",
  "object_type": "customer",
  "metric": "subscribed",
  "timestamp": 1613063089,
  "data": {
    "customer_id": "42",
    "email_address": "test@example.com",
    "identifiers": {
      "id": "42",
      "email": "test@example.com",
      "cio_id": "d9c106000001"
    }
  }
}
"""

# The same as an event: a valid Customer.io `customer:subscribed`.
ADOBE_EVENT: dict[str, Any] = json.loads(ADOBE_TEXT)

# A webhook URL that nothing answers (port 9, discard): for dry runs and usage errors.
UNREACHABLE_URL = (
    "http://127.0.0.1:9/collection/" + "a" * 64
    + "?x-adobe-flow-id=11111111-1111-1111-1111-111111111111"
)  # fmt: skip
