"""`cio-aep demo`: the main job end to end against the in-process local endpoint."""

from __future__ import annotations

from typer.testing import CliRunner

from cio_aep.catalog import CATALOG
from cio_aep.cli.main import app
from cio_aep.demo import DEMO_KEY, run_demo


def test_demo_core_sends_and_stores_every_supported_event() -> None:
    result = run_demo(seed=3)
    assert result.mapping_ok
    assert len(result.rows) == len(CATALOG.aep_supported())
    assert all(r.status == 200 and r.xaction_id and r.stored for r in result.rows)
    assert result.stored == len(result.rows)
    assert result.url.startswith("http://127.0.0.1:") and "x-adobe-flow-id=" in result.url


def test_demo_cli_exit_0_and_no_key_in_output() -> None:
    out = CliRunner().invoke(app, ["demo", "--seed", "1"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert out.exit_code == 0, out.stdout + out.stderr
    total = len(CATALOG.aep_supported())
    assert f"{total}/{total} accepted, {total} stored" in out.stdout
    secret = DEMO_KEY.reveal().decode()
    assert secret not in out.stdout and secret not in out.stderr
