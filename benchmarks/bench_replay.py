"""Throughput and memory of `cio-aep replay`, side by side with `hey`, in one run.

Run by hand (not by pytest), from the repository root:

    .venv/bin/python benchmarks/bench_replay.py [--events 20000] [--concurrency 32]
        [--big-events 1000000] [--big-seconds 60] [--repeat 1]

What it does, all on 127.0.0.1:
1. starts `cio-aep serve --port 0 --quiet` (a subprocess; the URL is its first stdout line)
   and a bare uvicorn app (uvloop + httptools) that only answers 200;
2. writes N events (the catalog's generator, every AEP-supported type, fresh event ids) as
   NDJSON and sends them with `cio-aep replay --rate 0 -c C` to serve, then sends the same
   number of requests with `hey` (same body size class, same concurrency) to serve, then `hey`
   to the bare app. Prints events/s of each and the ratios replay/hey (target >= 0.5) and
   serve/bare app under hey (target >= 0.6);
3. peak RSS of the replay process (`os.wait4` rusage of the child) sending 10,000 events and
   sending from a 1,000,000-event file to the bare app (target: within 1.2x). The 1M run is
   stopped with SIGINT after --big-seconds unless it finishes first (0 = no limit); the output
   says how many events it had sent by then.

`hey` comes from `apt-get install hey`; without it the hey parts are skipped (and said so).
Replay's events/s is its own summary figure (sent / time from first read to last answer,
without the ~0.4 s interpreter start-up); the wall-clock figure is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CIO_AEP = [sys.executable, "-m", "cio_aep"]

# The bare app: imported by uvicorn in its own process (`bench_replay:bare_app`).
_OK = b'{"ok":true}'


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """ASGI app that reads the request and answers 200, nothing else."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": _OK})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*CIO_AEP, "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    base = proc.stdout.readline().strip()
    webhook = ""
    while not webhook:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("serve did not start")
        match = re.search(r"(http://\S+x-adobe-flow-id=\S+)", line)
        webhook = match.group(1) if match else ""
    print(f"serve:    {base}")
    return proc, webhook


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--app-dir", str(Path(__file__).parent),
            "bench_replay:bare_app", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning",
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    # Same path and query shape as serve's, so replay's URL check passes.
    inlet = "b" * 64
    url = f"http://127.0.0.1:{port}/collection/{inlet}?x-adobe-flow-id=c10ae000-5e7e-4000-8000-000000000001"
    print(f"bare app: http://127.0.0.1:{port}")
    return proc, url


def write_events(path: Path, count: int) -> bytes:
    """`count` NDJSON events: the catalog's templates, each with a fresh event_id. Returns one
    compact body (for hey)."""
    sys.path.insert(0, str(ROOT))
    from cio_aep.generator import EventGenerator
    from cio_aep.ulid import encode_ulid

    templates = EventGenerator(seed=7).generate_all()
    parts = []
    for template in templates:
        event = dict(template)
        event["event_id"] = "@ID@"
        text = json.dumps(event, separators=(",", ":"))
        head, tail = text.split('"@ID@"')
        parts.append((head + '"', '"' + tail + "\n"))
    base_ms = int(time.time() * 1000)
    n_templates = len(parts)
    with path.open("w", buffering=1 << 20) as handle:
        chunk: list[str] = []
        for n in range(count):
            head, tail = parts[n % n_templates]
            chunk.append(head + encode_ulid(base_ms, n) + tail)
            if len(chunk) >= 10_000:
                handle.write("".join(chunk))
                chunk.clear()
        handle.write("".join(chunk))
    # hey's body: the template closest to the mean size, so both send similar bytes.
    bodies = sorted(
        (json.dumps(t, separators=(",", ":")).encode() for t in templates), key=len
    )
    mean = sum(len(b) for b in bodies) / len(bodies)
    return min(bodies, key=lambda b: abs(len(b) - mean))


def run_replay(
    source: Path, url: str, concurrency: int, *, seconds: float = 0.0
) -> dict[str, Any]:
    """Run `cio-aep replay` as a child; its summary, wall time and peak RSS (KiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*CIO_AEP, "replay", str(source), "--url", url, "--rate", "0",
         "--concurrency", str(concurrency), "--json", "--retries", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    stopped_early = False
    deadline = started + seconds if seconds > 0 else None
    while True:
        # wait4, not Popen.wait: it returns the child's own rusage (ru_maxrss = peak RSS).
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and not stopped_early and time.perf_counter() > deadline:
            proc.send_signal(signal.SIGINT)  # clean stop: the summary is still printed
            stopped_early = True
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stdout is not None
    out = proc.stdout.read()
    wall = time.perf_counter() - started
    summary = json.loads(out) if out.strip() else {}
    return {
        "summary": summary,
        "wall": wall,
        "peak_rss_kib": usage.ru_maxrss,
        "stopped_early": stopped_early,
        "exit": proc.returncode,
    }


def run_hey(url: str, body_file: Path, requests: int, concurrency: int) -> float | None:
    hey = shutil.which("hey")
    if hey is None:
        return None
    out = subprocess.run(
        [hey, "-n", str(requests), "-c", str(concurrency), "-m", "POST",
         "-T", "application/json", "-D", str(body_file), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    codes = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    if codes and any(code != "200" for code, _ in codes):
        print(f"  hey saw statuses {codes}")
    return float(match.group(1)) if match else None


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--small-events", type=int, default=10_000)
    parser.add_argument("--big-events", type=int, default=1_000_000)
    parser.add_argument("--big-seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=1, help="best of N for throughput")
    args = parser.parse_args()
    c = args.concurrency

    if shutil.which("hey") is None:
        print("hey not found: install it with `apt-get install -y hey` (after apt-get update);")
        print("the hey comparisons are skipped.")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    serve, serve_url = start_serve()
    bare, bare_url = start_bare()
    tmp = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    try:
        events = tmp / "events.ndjson"
        body = write_events(events, args.events)
        body_file = tmp / "body.json"
        body_file.write_bytes(body)
        print(f"events:   {args.events} in {events.stat().st_size / 1e6:.1f} MB NDJSON; "
              f"hey body {len(body)} bytes; concurrency {c}")  # fmt: skip

        print("\n# throughput against serve")
        replay_rates, hey_serve, hey_bare = [], [], []
        for _ in range(args.repeat):
            result = run_replay(events, serve_url, c)
            s = result["summary"]
            replay_rates.append(float(s["events_per_second"]))
            print(f"  replay: {s['accepted']}/{s['sent']} accepted, {s['events_per_second']:.0f} "
                  f"events/s (wall clock with start-up: {s['sent'] / result['wall']:.0f}/s), "
                  f"p50 {s['latency_ms']['p50']} ms, p99 {s['latency_ms']['p99']} ms")  # fmt: skip
            rate = run_hey(serve_url, body_file, args.events, c)
            if rate is not None:
                hey_serve.append(rate)
                print(f"  hey -> serve:    {rate:.0f} requests/s")
            rate = run_hey(bare_url, body_file, args.events, c)
            if rate is not None:
                hey_bare.append(rate)
                print(f"  hey -> bare app: {rate:.0f} requests/s")
        best_replay = max(replay_rates)
        if hey_serve:
            ratio = best_replay / max(hey_serve)
            print(f"replay/hey (serve):   {ratio:.2f} (target >= 0.5) {verdict(ratio >= 0.5)}")
        if hey_serve and hey_bare:
            ratio = max(hey_serve) / max(hey_bare)
            print(f"serve/bare app (hey): {ratio:.2f} (target >= 0.6) {verdict(ratio >= 0.6)}")

        print("\n# peak RSS of replay (to the bare app)")
        small = tmp / "small.ndjson"
        write_events(small, args.small_events)
        r_small = run_replay(small, bare_url, c)
        print(f"  {args.small_events} events: peak RSS {r_small['peak_rss_kib'] / 1024:.1f} MiB, "
              f"{r_small['summary'].get('sent')} sent")  # fmt: skip
        big = tmp / "big.ndjson"
        t0 = time.perf_counter()
        write_events(big, args.big_events)
        print(f"  ({args.big_events} events written in {time.perf_counter() - t0:.1f} s, "
              f"{big.stat().st_size / 1e6:.0f} MB)")  # fmt: skip
        r_big = run_replay(big, bare_url, c, seconds=args.big_seconds)
        sent = r_big["summary"].get("sent")
        how = (
            f"stopped after {args.big_seconds:g} s having sent {sent} of {args.big_events}"
            if r_big["stopped_early"]
            else f"all {sent} sent"
        )
        print(f"  {args.big_events}-event file: peak RSS {r_big['peak_rss_kib'] / 1024:.1f} MiB "
              f"({how}, {r_big['summary'].get('events_per_second')} events/s)")  # fmt: skip
        ratio = r_big["peak_rss_kib"] / r_small["peak_rss_kib"]
        print(f"RSS big/small:        {ratio:.2f} (target <= 1.2) {verdict(ratio <= 1.2)}")
    finally:
        for proc in (serve, bare):
            proc.send_signal(signal.SIGINT)
        for proc in (serve, bare):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
