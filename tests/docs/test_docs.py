"""Runs the command lines of the docs pages people type from, as written (test_readme.py says how:
a mirror of the checkout, the README's ports, the local fake BloFin for BloFin).

Each page below has a table: every command line of its ```sh blocks must be a key, mapped to the
scenario that runs it; a line added to a page without a scenario fails
``test_every_docs_command_is_run_here``. The CLI pages say ``xctl``: the scenarios put
``build/client/cli`` on PATH, as docs/cli.md says.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from doc_commands import (
    REPO,
    background,
    check_covered,
    page_commands,
    ports_free,
    run,
    run_credentials_lines,
)

TV_SECRET = "docs-test-signal-secret"

# docs/api.md: every line against the demo.
API = {
    "build/tools/grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check": "demo",
    "build/tools/grpcurl -plaintext -d '{\"service\":\"xctl.v1.PriceFeed\"}' 127.0.0.1:50051 "
    "grpc.health.v1.Health/Check": "demo",
    "build/client/cli/xctl prices": "demo",
    "build/client/cli/xctl strategies list": "demo",
    "build/client/cli/xctl kpis --watch": "demo",
    "build/tools/grpcurl -plaintext 127.0.0.1:50051 list": "demo",
    "build/tools/grpcurl -plaintext -d '{\"pairs\":[\"BTC-USDT\"]}' 127.0.0.1:50051 "
    "xctl.v1.PriceFeed/StreamPrices": "demo",
    "build/tools/grpcurl -plaintext -d '{\"strategy_type\":\"sma_cross\"}' 127.0.0.1:50051 "
    "xctl.v1.ExchangeControl/StreamPositions": "demo",
}

# docs/gateway.md: the curl lines against the demo's gateway; the gateway line is the one
# scripts/run starts (test_readme.py runs scripts/run); the schemathesis lines are ctest's own.
GATEWAY = {
    "build/gateway/xctl-gateway --listen 127.0.0.1:8080 --grpc 127.0.0.1:50051": "scripts/run",
    "curl -s localhost:8080/v1/prices/BTC-USDT": "demo",
    "curl -s -X POST localhost:8080/v1/orders -H 'Content-Type: application/json'   -d "
    "'{\"strategy_id\":\"tv-demo\",\"symbol\":\"BTC-USDT\",\"side\":\"buy\","
    "\"type\":\"market\",\"quantity\":\"1\"}'": "demo",
    "curl -s -X POST localhost:8080/v1/strategies/tv-demo:stop   # no body: no Content-Type needed": "demo",
    "curl -s 'localhost:8080/v1/strategies/tv-demo/positions?status=open'": "demo",
    "curl -s 'localhost:8080/v1/positions?status=done'   # 400 UNKNOWN_ENUM_VALUE: "
    "\"accepted: open, closed ...\"": "demo",
    "curl -sN localhost:8080/v1/stream/kpis          # one \"data: {...}\" event per update": "demo",
    "curl -s localhost:9091/metrics | grep '^xctl_gateway_http_requests_total'": "demo",
    "ctest --test-dir build -R gateway_schemathesis --output-on-failure": "ctest",
    "XCTL_SCHEMATHESIS_EXAMPLES=300 XCTL_SCHEMATHESIS_SEED=7   XCTL_SCHEMATHESIS_ARGS="
    "\"--phases=examples,coverage,fuzzing,stateful\"   ctest --test-dir build -R gateway_schemathesis "
    "--output-on-failure": "ctest",
}

# docs/cli.md: the tour in order against the demo, then the credentials lines on the fake BloFin,
# and the completion lines in the shell each names.
CLI_TOUR = "tour"
CLI_CREDENTIALS = "credentials"
CLI_COMPLETION = "completion"


def cli_table() -> dict[str, str]:
    """docs/cli.md's lines: the credentials block's two lines, the completion block's two lines,
    the tour's every other line."""
    table = {}
    for line in page_commands(REPO / "docs/cli.md"):
        if "set-credentials" in line or "clear-credentials" in line:
            table[line] = CLI_CREDENTIALS
        elif "xctl completion" in line:
            table[line] = CLI_COMPLETION
        else:
            table[line] = CLI_TOUR
    return table


def test_every_docs_command_is_run_here() -> None:
    check_covered({"docs/api.md": API, "docs/gateway.md": GATEWAY})
    # "scripts/run": the line is the one scripts/run starts (its build folder is build/).
    run_script = (REPO / "scripts/run").read_text().replace('"$BUILD_DIR/', "build/").replace('xctl-gateway"', "xctl-gateway")
    for line, name in GATEWAY.items():
        if name == "scripts/run":
            assert line in run_script, f"scripts/run no longer starts {line!r}"


def lines_of(page: str, table: dict[str, str], name: str) -> list[str]:
    """The page's lines of one scenario, in page order."""
    return [line for line in page_commands(REPO / page) if table.get(line) == name]


def cli_env(mirror: Path) -> dict[str, str]:
    """PATH with the built CLI first, and the signal secret the tour's strategy uses."""
    return {"PATH": f"{mirror / 'build/client/cli'}:{os.environ['PATH']}", "TV_SECRET": TV_SECRET}


def test_the_api_and_gateway_lines_against_the_demo(mirror: Path) -> None:
    ports_free()
    with background("scripts/run", mirror, ready="xctl is running"):
        for line in lines_of("docs/api.md", API, "demo"):
            streams = "--watch" in line or "/Stream" in line
            out = run(line, mirror, timeout=4.0 if streams else 30.0, streams=streams)
            assert out.strip(), line
        checks = {  # the first key in the line decides
            "v1/prices/BTC-USDT": '"pair":"BTC-USDT"',
            "v1/orders": '"status":"ORDER_STATUS_FILLED"',
            "status=done": '"reason":"UNKNOWN_ENUM_VALUE"',
            "tv-demo:stop": '"status":"STRATEGY_STATUS_STOPPED"',
            "positions?status": '"strategy_id":"tv-demo"',
            "stream/kpis": "data: {",
            # the gateway's metrics (scripts/run's gateway, default --metrics-listen)
            "9091/metrics": 'xctl_gateway_http_requests_total{',
        }
        for line in lines_of("docs/gateway.md", GATEWAY, "demo"):
            streams = "curl -sN" in line
            out = run(line, mirror, timeout=4.0 if streams else 30.0, streams=streams)
            want = next(v for k, v in checks.items() if k in line)
            assert want in out, f"{line!r} printed no {want!r}:\n{out}"


def test_the_cli_tour_in_order(mirror: Path) -> None:
    ports_free()
    tour = lines_of("docs/cli.md", cli_table(), CLI_TOUR)
    assert len(tour) >= 20, tour
    with background("scripts/run", mirror, ready="xctl is running"):
        for line in tour:
            streams = "--watch" in line and "--updates" not in line
            out = run(line, mirror, timeout=60.0, env=cli_env(mirror), streams=streams)
            assert out.strip() or "delete" in line or "cancel" in line, f"{line!r} printed nothing"
        out = run("xctl strategies list", mirror, env=cli_env(mirror))
        assert "my-tv" not in out, f"the tour's last line deletes my-tv:\n{out}"


def test_the_cli_credentials_lines(mirror: Path) -> None:
    ports_free()
    set_line, clear_line = lines_of("docs/cli.md", cli_table(), CLI_CREDENTIALS)
    run_credentials_lines(mirror, set_line, clear_line, "sma-eth", env=cli_env(mirror))


def test_the_cli_completion_lines(mirror: Path) -> None:
    """Each completion line in its shell (zsh after compinit, as in a ~/.zshrc): it loads and
    registers the completion function for xctl."""
    lines = lines_of("docs/cli.md", cli_table(), CLI_COMPLETION)
    assert sorted("bash" if "completion bash" in line else "zsh" for line in lines) == ["bash", "zsh"]
    env = {k: v for k, v in os.environ.items() if k not in ("XCTL_SERVER", "XCTL_TOKEN")}
    env.update(cli_env(mirror), HOME=str(mirror), ZDOTDIR=str(mirror))
    for line in lines:
        if "completion bash" in line:
            argv = ["bash", "-c", f"{line}\ncomplete -p xctl"]
            want = "complete -F _xctl xctl"
        else:
            argv = ["zsh", "-f", "-c", f"autoload -U compinit && compinit -u -d {mirror}/.zcompdump\n"
                    f"{line}\nprint -r -- $_comps[xctl]"]
            want = "_xctl"
        done = subprocess.run(argv, cwd=mirror, env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        assert done.stdout.strip() == want, f"{line!r} registered no completion:\n{done.stdout}{done.stderr}"
        assert done.stderr == "", f"{line!r}:\n{done.stderr}"
