"""validate-events throughput against the bare JSON parse of the same file, and memory.

Run by hand: `.venv/bin/python benchmarks/bench_validate_events.py [N]` (default 200,000).
Prints events/s of both, their ratio (target: validation >= 0.35 of parse-only), and the peak
RSS of validating N and N/10 events in fresh processes (target: within 1.2x).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cio_aep.generator import EventGenerator, compact_json


def make_file(path: Path, count: int) -> None:
    gen = EventGenerator(seed=42, timestamp=1_700_000_000)
    templates = gen.generate_all()
    with path.open("wb") as out:
        for i in range(count):
            event = dict(templates[i % len(templates)])
            event["event_id"] = gen.generate("customer", "subscribed")["event_id"]
            out.write(compact_json(event) + b"\n")


def parse_only(path: Path) -> float:
    start = time.perf_counter()
    loads = json.loads
    with path.open("rb") as f:
        for line in f:
            loads(line)
    return time.perf_counter() - start


def validate(path: Path) -> float:
    from cio_aep.event_check import check_event_files

    start = time.perf_counter()
    result = check_event_files([str(path)])
    elapsed = time.perf_counter() - start
    assert result.report.errors == 0, result.report.findings[:3]
    return elapsed


CHILD = """
import resource, sys
from cio_aep.event_check import check_event_files
from cio_aep.reporters import render_report
result = check_event_files([sys.argv[1]])
render_report(result.report, "text")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kib(path: Path) -> int:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return int(out.stdout.strip())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.ndjson", Path(tmp) / "small.ndjson"
        make_file(big, count)
        make_file(small, count // 10)
        size_mb = big.stat().st_size / 1e6
        # Interleave runs so that both see the same machine state; keep the best of three.
        parse_t, valid_t = [], []
        for _ in range(3):
            parse_t.append(parse_only(big))
            valid_t.append(validate(big))
        p, v = min(parse_t), min(valid_t)
        print(f"file: {count:,} events, {size_mb:.1f} MB NDJSON")
        print(f"bare json parse : {count / p:12,.0f} events/s ({p:.2f} s)")
        print(f"validate-events : {count / v:12,.0f} events/s ({v:.2f} s)")
        print(f"ratio validate/parse rate: {p / v:.2f}  (target >= 0.35)")
        rss_big, rss_small = peak_rss_kib(big), peak_rss_kib(small)
        print(f"peak RSS: {count:,} events {rss_big / 1024:.1f} MiB, {count // 10:,} events "
              f"{rss_small / 1024:.1f} MiB, ratio {rss_big / rss_small:.2f}  (target <= 1.2)")


if __name__ == "__main__":
    main()
