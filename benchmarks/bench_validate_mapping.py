"""validate-mapping on a 10,000-entry mapping set, against a bare `json.loads` of the same file.

Run by hand: `.venv/bin/python benchmarks/bench_validate_mapping.py [ENTRIES]`. Prints the best
of several runs of each, measured side by side in this one process, and their ratio (target
≤ 3×). Three sets: a valid one (no findings), one where every 10th entry has a finding (each
finding needs its line and column), and the same valid set as YAML and CSV for reference.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cio_aep.catalog import CATALOG
from cio_aep.mapping import validate_mapping
from cio_aep.mapping.mandatory import CANONICAL_SOURCES

# source path -> field name; timestamp is mapped by a calculated field below.
MANDATORY = {src: name for name, src in CANONICAL_SOURCES.items() if name != "timestamp"}


def mapping_set(entries: int, *, broken_every: int = 0) -> dict[str, object]:
    """A Data Prep API mapping set with `entries` mappings to distinct destinations."""
    sources = [
        p for p, t in CATALOG.source_fields().items() if "object" not in t and p != "timestamp"
    ]
    mappings: list[dict[str, str]] = [
        {"sourceType": "ATTRIBUTE", "source": s, "destination": f"_acme.customerio.{d}"}
        for s, d in MANDATORY.items()
    ]
    mappings.append(
        {
            "sourceType": "EXPRESSION",
            "source": "dformat(${timestamp} * 1000, \"yyyy-MM-dd'T'HH:mm:ss.SSSXXX\")",
            "destination": "_acme.customerio.timestamp",
        }
    )
    i = 0
    while len(mappings) < entries:
        source = sources[i % len(sources)]
        if broken_every and i % broken_every == 0:
            source = source.replace("data.", "data.x", 1)
        mappings.append(
            {
                "sourceType": "ATTRIBUTE",
                "source": source,
                "destination": f"_acme.customerio.extra.f{i}",
                "name": f"field {i}",
                "description": "a mapping generated for the benchmark",
            }
        )
        i += 1
    return {
        "outputSchema": {
            "schemaRef": {
                "id": "https://ns.adobe.com/acme/schemas/0123456789abcdef",
                "contentType": "application/vnd.adobe.xed-full+json;version=1",
            }
        },
        "mappings": mappings,
    }


def best(func: Callable[[], object], runs: int = 9) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def side_by_side(*funcs: Callable[[], object], runs: int = 25) -> list[float]:
    """Best time of each function, run in turn so that a busy machine slows them alike."""
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(runs):
        for func, bucket in zip(funcs, times, strict=True):
            start = time.perf_counter()
            func()
            bucket.append(time.perf_counter() - start)
    return [min(bucket) for bucket in times]


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {
            "valid": mapping_set(entries),
            "1 in 10 broken": mapping_set(entries, broken_every=10),
        }
        print(f"{entries:,} entries per set; best of 25 interleaved runs each\n")
        print(f"{'set':<16} {'size':>9} {'json.loads':>11} {'validate':>10} {'ratio':>7}  findings")
        for name, doc in cases.items():
            path = folder / f"{name.replace(' ', '_')}.json"
            path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
            text = path.read_text(encoding="utf-8")
            parse, parse_read, check = side_by_side(
                lambda text=text: json.loads(text),  # type: ignore[misc]
                lambda path=path: json.loads(path.read_bytes()),  # type: ignore[misc]
                lambda path=path: validate_mapping(path),  # type: ignore[misc]
            )
            findings = len(validate_mapping(path).findings)
            size = f"{len(text) / 1e6:.1f} MB"
            print(
                f"{name:<16} {size:>9} {parse * 1e3:>9.1f}ms {check * 1e3:>8.1f}ms "
                f"{check / parse:>6.2f}×  {findings}"
            )
            print(
                f"{'':<16} {'':>9} {'(+ read)':>11} {parse_read * 1e3:>8.1f}ms "
                f"{check / parse_read:>6.2f}×  (validate vs read_bytes + json.loads)"
            )
        # YAML and CSV: no ratio target (their parsers are not json's C scanner); for scale.
        doc = cases["valid"]
        rows = ["source,destination,sourceType"] + [
            f"{m['source']},{m['destination']},{m['sourceType']}"
            for m in doc["mappings"]  # type: ignore[union-attr]
            if "," not in m["source"]
        ]
        csv_path = folder / "valid.csv"
        csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        csv_time = best(lambda: validate_mapping(csv_path), runs=3)
        print(f"\nCSV  ({len(rows) - 1:,} rows): validate {csv_time * 1e3:.1f}ms")
        try:
            import yaml
        except ImportError:  # pragma: no cover
            return
        yaml_path = folder / "valid.yaml"
        yaml_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        yaml_time = best(lambda: validate_mapping(yaml_path), runs=3)
        print(f"YAML ({entries:,} entries): validate {yaml_time * 1e3:.1f}ms")


if __name__ == "__main__":
    main()
