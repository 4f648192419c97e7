"""Runs every command of README.md as written.

Every command line of the README (each line of its ```sh blocks, and its inline `curl ...`) must
be a key of COMMANDS, which says which scenario below runs it; a README line missing from
COMMANDS fails ``test_every_readme_command_is_run_here``, so a new line cannot land unrun.

The commands run character for character, with the README's own ports (127.0.0.1:50051 and
:8080, which must be free), from a mirror of the repository: a temporary folder holding a
symbolic link to each top-level entry of the checkout except ``data/``, so ``./data/xctl.db``
and the master key the demo creates stay in the temporary folder. Two substitutions, both
because this machine reaches no network: BloFin's production URL becomes the local fake BloFin
(tests/fake_blofin/), and the ``...`` placeholders of the credentials line become an account
of that fake. ``scripts/test`` and ``scripts/bench`` are what CI runs (.ci/run), not repeated here.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from doc_commands import (
    REPO,
    START_TIMEOUT_S,
    background,
    check_covered,
    fake_blofin,
    page_commands,
    ports_free,
    run,
    run_credentials_lines,
    wait_serving,
)

README_PG_URL = "postgresql://xctl:xctl@127.0.0.1:5432/xctl"
PRODUCTION = "https://openapi.blofin.com"

# README line -> the scenario (test below) that runs it.
COMMANDS = {
    "scripts/run     # set up, build and start the demo: xctld + REST gateway + dashboard "
    "(http://127.0.0.1:8080/), SQLite, paper strategies": "demo",
    "scripts/test    # set up, build and run the whole test suite (SQLite and a real PostgreSQL, "
    "browser, fuzzing, short load runs)": "ci",
    "build/client/cli/xctl strategies list": "demo",
    "build/client/cli/xctl kpis --watch          # KPIs of every strategy, type and the total, live": "demo",
    "build/client/cli/xctl signal --strategy tv-demo --action buy --symbol BTC-USDT --quantity 1": "demo",
    "build/client/cli/xctl positions --status all": "demo",
    "curl -X POST localhost:8080/v1/signals/tradingview -H 'Content-Type: application/json' "
    "-d '{\"strategy_id\":\"tv-demo\",\"action\":\"buy\",\"symbol\":\"BTC-USDT\",\"quantity\":\"1\"}'": "demo",
    "build/tools/grpcurl -plaintext 127.0.0.1:50051 list": "demo",
    "build/tools/grpcurl -plaintext -d '{\"pair\":\"BTC-USDT\"}' 127.0.0.1:50051 "
    "xctl.v1.PriceFeed/GetPrice": "demo",
    "build/tools/grpcurl -plaintext -d '{\"pairs\":[\"BTC-USDT\",\"ETH-USDT\"]}' 127.0.0.1:50051 "
    "xctl.v1.PriceFeed/StreamPrices": "demo",
    "build/tools/grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check": "demo",
    "build/server/xctld --config server/config/demo.yaml --db "
    "'postgresql://xctl:xctl@127.0.0.1:5432/xctl'": "postgres",
    "build/server/xctld --config server/config/demo.yaml --price-source blofin   --blofin-url "
    "https://openapi.blofin.com --pairs BTC-USDT,ETH-USDT --price-interval-ms 1000": "blofin",
    "XCTL_API_KEY=... XCTL_API_SECRET=... XCTL_PASSPHRASE=... build/client/cli/xctl strategies "
    "set-credentials sma-btc": "credentials",
    "build/client/cli/xctl strategies clear-credentials sma-btc     # back to paper": "credentials",
    "scripts/bench   # price fan-out and mark to market, ratios against baselines in the same run": "ci",
}


def scenario(name: str) -> list[str]:
    """The README's lines of one scenario, in README order."""
    return [line for line in page_commands(REPO / "README.md", inline_curl=True)
            if COMMANDS.get(line) == name]


def test_every_readme_command_is_run_here() -> None:
    check_covered({"README.md": COMMANDS})


# ---- the scenarios -----------------------------------------------------------------------------


def test_the_demo_and_every_line_run_against_it(mirror: Path) -> None:
    ports_free()
    lines = scenario("demo")
    start, rest = lines[0], lines[1:]
    assert start.startswith("scripts/run")
    checks = {
        "strategies list": ["sma-btc", "sma-eth", "tv-demo"],
        "kpis --watch": ["SCOPE", "type:sma_cross", "all"],
        "xctl signal": ["filled: buy 1 BTC-USDT paper"],
        "positions --status all": ["tv-demo", "BTC-USDT", "long"],
        "curl -X POST": ['"strategy_id":"tv-demo"', '"symbol":"BTC-USDT"'],
        " list": ["xctl.v1.PriceFeed", "xctl.v1.ExchangeControl", "xctl.v1.StrategyManager",
                  "grpc.health.v1.Health"],
        "PriceFeed/GetPrice": ['"pair": "BTC-USDT"', '"last"'],
        "PriceFeed/StreamPrices": ['"snapshot"', '"ETH-USDT"'],
        "Health/Check": ['"status": "SERVING"'],
    }
    with background(start, mirror, ready="xctl is running") as log:
        assert (mirror / "data" / "xctl.db").exists(), "the demo did not put its database in ./data"
        for line in rest:
            streams = "--watch" in line or "StreamPrices" in line
            out = run(line, mirror, timeout=4.0 if streams else 30.0, streams=streams)
            key = next(k for k in checks if k in line)
            for want in checks[key]:
                assert want in out, f"{line!r} printed no {want!r}:\n{out}"
    assert "xctl is running" in log.read_text()


def test_the_postgresql_line(mirror: Path) -> None:
    ports_free()
    base = os.environ.get("XCTL_TEST_PG_URL", "")
    assert base.rstrip("/") == README_PG_URL, (
        f"the README's PostgreSQL line names {README_PG_URL}; XCTL_TEST_PG_URL is {base!r} "
        "(scripts/start-postgres starts that server)"
    )
    (line,) = scenario("postgres")
    # The master key comes from the environment, so nothing is written to /var/lib/xctl.
    env = {"XCTL_MASTER_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}
    with background(line, mirror, ready="event=xctld_serving", env=env):
        wait_serving(mirror)
        out = run("build/client/cli/xctl strategies list", mirror)
        assert "tv-demo" in out, out
    assert not (mirror / "data").exists(), "the PostgreSQL line must not create ./data"


def test_the_blofin_prices_line(mirror: Path) -> None:
    ports_free()
    (line,) = scenario("blofin")
    assert PRODUCTION in line
    with fake_blofin(mirror) as url:
        local = line.replace(PRODUCTION, url)
        with background(local, mirror, ready="event=xctld_serving"):
            wait_serving(mirror)
            get_price = next(l for l in scenario("demo") if "GetPrice" in l)
            out = run(get_price, mirror)
            assert '"pair": "BTC-USDT"' in out, out


def test_the_credentials_lines(mirror: Path) -> None:
    ports_free()
    set_line, clear_line = scenario("credentials")
    run_credentials_lines(mirror, set_line, clear_line, "sma-btc")


def test_scripts_run_fails_with_the_reason_when_the_grpc_port_is_taken(mirror: Path) -> None:
    ports_free()
    start = scenario("demo")[0]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 50051))
        taken.listen()
        done = subprocess.run(["bash", "-c", start], cwd=mirror, capture_output=True, text=True,
                              timeout=START_TIMEOUT_S)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "xctl is running" not in out, out
    assert "cannot listen on 127.0.0.1:50051" in out, out
    assert "scripts/run: xctld exited before serving" in out, out
