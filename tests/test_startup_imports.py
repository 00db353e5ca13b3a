"""Commands that neither send nor serve must not import the network or server stack.

Each command runs in a fresh interpreter (`sys.executable`) through a tiny runner that calls
`cio_aep.cli.main.app` in standalone mode, catches its SystemExit and then writes the sorted
`sys.modules` keys to a file. `build-url` and `--version` must also stay clear of pydantic
and rich, so that they start as fast as Typer allows (benchmarks/bench_startup.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from samples import ADOBE_EVENT

from cio_aep.mapping.mandatory import CANONICAL_SOURCES

RUNNER = """
import sys
from cio_aep.cli.main import app
code = 0
try:
    app(args=sys.argv[2:], prog_name="cio-aep", standalone_mode=True)
except SystemExit as exc:
    code = exc.code
finally:
    # Also after a crash: what was imported until then is still worth checking.
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""

NETWORK_AND_SERVER = frozenset(
    {"httpx", "httpcore", "uvicorn", "aiohttp", "starlette", "anyio", "sqlite3", "_sqlite3"}
)
PYDANTIC = frozenset({"pydantic", "pydantic_core"})
HEAVY_FOR_FAST_COMMANDS = NETWORK_AND_SERVER | PYDANTIC | {"rich", "asyncio"}
# Offline commands: their options are coerced without pydantic (PlainParamsMixin); rich may
# draw a table or a progress counter.
OFFLINE = NETWORK_AND_SERVER | PYDANTIC

ENDPOINT = (
    "https://dcs.adobedc.net/collection/"
    "febc116d22ba0ea2868e9c93b199375302afb8a589617700991bb8f3f0341ad7"
)
FLOW = "439b3fc4-3042-4a3a-b5e0-a494898d3fb0"

# A valid Customer.io event (the shape of Adobe's sample source schema).
EVENT = ADOBE_EVENT
MANDATORY = {src: name for name, src in CANONICAL_SOURCES.items()}  # source path -> field
MAPPING = {
    "outputSchema": {
        "schemaRef": {
            "id": "https://ns.adobe.com/acme/schemas/cio",
            "contentType": "application/vnd.adobe.xed-full+json;version=1",
        }
    },
    "mappings": [
        {"sourceType": "ATTRIBUTE", "source": source, "destination": f"_acme.{target}"}
        for source, target in MANDATORY.items()
    ],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("startup")
    (folder / "event.json").write_text(json.dumps(EVENT), encoding="utf-8")
    (folder / "mapping.json").write_text(json.dumps(MAPPING), encoding="utf-8")
    return folder


def run(folder: Path, *args: str) -> tuple[int, str, set[str]]:
    modules_file = folder / f"modules-{os.getpid()}-{abs(hash(args))}.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIO_")}
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(modules_file), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert modules_file.exists(), f"the runner failed: {done.stderr[-2000:]}"
    modules = set(modules_file.read_text(encoding="utf-8").split("\n"))
    return done.returncode, done.stdout, modules


def heavy(modules: set[str], forbidden: frozenset[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in forbidden)


CASES = [
    pytest.param(
        ["build-url", "--endpoint", ENDPOINT, "--dataflow-id", FLOW],
        HEAVY_FOR_FAST_COMMANDS,
        id="build-url",
    ),
    pytest.param(["--version"], HEAVY_FOR_FAST_COMMANDS, id="--version"),
    pytest.param(["--help"], OFFLINE, id="--help"),
    pytest.param(
        [
            "generate-schema",
            "-e",
            "email:sent",
            "--seed",
            "3",
            "--timestamp",
            "1",
            "-f",
            "json-schema",
        ],
        OFFLINE,
        id="generate-schema",
    ),
    pytest.param(["events"], OFFLINE, id="events"),
    pytest.param(["events", "--json", "--object-type", "email"], OFFLINE, id="events-json"),
    pytest.param(
        ["validate-events", "event.json", "--format", "sarif", "-o", "out.sarif"],
        OFFLINE,
        id="validate-events",
    ),
    pytest.param(["validate-mapping", "mapping.json"], OFFLINE, id="validate-mapping"),
]


@pytest.mark.parametrize(("args", "forbidden"), CASES)
def test_no_heavy_imports(inputs: Path, args: list[str], forbidden: frozenset[str]) -> None:
    _, _, modules = run(inputs, *args)
    assert "cio_aep.cli.main" in modules, "the runner did not run the CLI"
    assert heavy(modules, forbidden) == []


def test_build_url_really_ran(inputs: Path) -> None:
    code, stdout, modules = run(inputs, "build-url", "-e", ENDPOINT, "-d", FLOW.upper())
    assert code == 0
    assert stdout == f"{ENDPOINT}?x-adobe-flow-id={FLOW}\n"
    assert "cio_aep.webhook_url" in modules


def test_build_url_refusal_stays_light(inputs: Path) -> None:
    code, stdout, modules = run(inputs, "build-url", "-e", ENDPOINT.replace("s:", ":"), "-d", FLOW)
    assert code == 2 and stdout == ""
    assert heavy(modules, HEAVY_FOR_FAST_COMMANDS) == []


def test_the_check_can_fail(inputs: Path) -> None:
    # The runner really reports what was imported: an httpx import by hand must be seen.
    modules_file = inputs / "probe.txt"
    probe = RUNNER.replace(
        "from cio_aep.cli.main import app", "import httpx\n" + "from cio_aep.cli.main import app"
    )
    subprocess.run(
        [sys.executable, "-c", probe, str(modules_file), "--version"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    modules = set(modules_file.read_text(encoding="utf-8").split("\n"))
    assert "httpx" in heavy(modules, HEAVY_FOR_FAST_COMMANDS)
