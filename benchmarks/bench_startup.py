"""Start-up time of cio-aep commands against a one-command Typer hello-world, side by side.

Run by hand (not by pytest), from the repository root:

    .venv/bin/python benchmarks/bench_startup.py [--runs 20]

Every command is launched twice over: as `python -m ...` and as a console script (an
executable file whose shebang is this interpreter); the hello-world is launched the same two
ways, and each command's median wall time is divided by the hello-world's median of the same
launch mode. Runs are interleaved (round robin) so that load on the machine hits all alike.
Target: ratio <= 1.15 for `build-url` and `--version`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cio_aep.source_schema import ADOBE_SAMPLE

TARGET = 1.15
TARGETED = ("build-url", "--version")

HELLO = '''\
import typer

app = typer.Typer()


@app.command()
def main(name: str) -> None:
    print(f"Hello {name}")


if __name__ == "__main__":
    app()
'''

INLET = "febc116d22ba0ea2868e9c93b199375302afb8a589617700991bb8f3f0341ad7"
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"
# Inputs of the file-reading commands: Adobe's sample event and the demo mapping.
EVENT = ADOBE_SAMPLE
MAPPING_FILE = Path(__file__).resolve().parents[1] / "cio_aep" / "demo_mapping.json"


def commands(folder: Path) -> dict[str, list[str]]:
    endpoint = f"https://dcs.adobedc.net/collection/{INLET}"
    return {
        "build-url": ["build-url", "--endpoint", endpoint, "--dataflow-id", FLOW],
        "--version": ["--version"],
        "--help": ["--help"],
        "generate-schema": ["generate-schema"],
        "events": ["events"],
        "validate-events": ["validate-events", str(folder / "event.json")],
        "validate-mapping": ["validate-mapping", str(folder / "mapping.json")],
    }


def time_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()

    script = Path(sys.executable).parent / "cio-aep"
    if not script.exists():
        sys.exit(f"no console script at {script}: run with the project's .venv/bin/python")

    with tempfile.TemporaryDirectory(prefix="cio-aep-bench-") as tmp:
        folder = Path(tmp)
        (folder / "hello_typer.py").write_text(HELLO, encoding="utf-8")
        hello_script = folder / "hello-typer"
        hello_script.write_text(f"#!{sys.executable}\n{HELLO}", encoding="utf-8")
        hello_script.chmod(0o755)
        (folder / "event.json").write_text(json.dumps(EVENT), encoding="utf-8")
        (folder / "mapping.json").write_bytes(MAPPING_FILE.read_bytes())

        env = {k: v for k, v in os.environ.items() if not k.startswith("CIO_")}
        env["NO_COLOR"] = "1"
        env["PYTHONPATH"] = str(folder)  # so that `-m hello_typer` finds the hello-world
        # Installed users run from .pyc files; with PYTHONDONTWRITEBYTECODE every start would
        # recompile our sources (and not the hello-world's libraries). Cache them in the temp
        # folder, not in the working tree; the warm-up runs fill the cache.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")

        # (label, launch mode, argv)
        jobs: list[tuple[str, str, list[str]]] = [
            ("hello-world", "-m", [sys.executable, "-m", "hello_typer", "World"]),
            ("hello-world", "script", [str(hello_script), "World"]),
            # For context: Typer alone; Typer 0.29's hello-world also imports pydantic.
            ("import typer", "-m", [sys.executable, "-c", "import typer"]),
        ]
        for label, args in commands(folder).items():
            jobs.append((label, "-m", [sys.executable, "-m", "cio_aep", *args]))
            jobs.append((label, "script", [str(script), *args]))

        times: dict[tuple[str, str], list[float]] = {(label, m): [] for label, m, _ in jobs}
        codes: dict[tuple[str, str], int] = {}
        for *_, argv in jobs:  # warm the file cache and .pyc files
            time_once(argv, folder, env)
        for _ in range(options.runs):
            for label, mode, argv in jobs:
                elapsed, code = time_once(argv, folder, env)
                times[(label, mode)].append(elapsed)
                codes[(label, mode)] = code

    print(f"python {sys.version.split()[0]}, {options.runs} runs each, median wall time")
    print(f"{'command':<18} {'mode':<7} {'median ms':>10} {'ratio':>7}  exit")
    failed = False
    for label, mode, _ in jobs:
        median = statistics.median(times[(label, mode)])
        base = statistics.median(times[("hello-world", mode)])
        ratio = median / base
        mark = ""
        if label in TARGETED:
            ok = ratio <= TARGET
            failed |= not ok
            mark = "  ok" if ok else f"  OVER TARGET {TARGET}"
        print(
            f"{label:<18} {mode:<7} {median * 1000:>10.1f} {ratio:>7.2f}  "
            f"{codes[(label, mode)]}{mark}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
