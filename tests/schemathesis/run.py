"""Schemathesis against the REST gateway, as CTest runs it (gateway_schemathesis).

Starts a real xctld (fresh SQLite, simulated prices, tokens configured, a few
strategies) and a real xctl-gateway on free loopback ports, then runs
schemathesis from the repository's .venv against the committed OpenAPI spec
(gateway/openapi/xctl.swagger.json) with the admin token. Fails when any check
fails: no 5xx, every status code, content type and body as the spec says, and
405 with a correct Allow header for every method the spec does not declare.

    run.py --xctld XCTLD --gateway GATEWAY --spec SPEC --report-dir DIR

Environment (for longer or reproducible runs, docs/gateway.md):
    XCTL_SCHEMATHESIS_EXAMPLES  test cases per operation and phase (default 25)
    XCTL_SCHEMATHESIS_SEED      Hypothesis seed (default 1: the same cases each run)
    XCTL_SCHEMATHESIS_MAX_TIME  optional overall time budget in seconds
    XCTL_SCHEMATHESIS_ARGS      extra arguments for `schemathesis run`
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

START_TIMEOUT_S = 30.0
ADMIN_TOKEN = "schemathesis-" + secrets.token_hex(16)

# Everything schemathesis checks. The two data-acceptance checks stay off:
# the spec cannot say which strategy ids exist, which are running, or an
# instrument's lot and tick sizes, so a schema-valid order is often refused
# (404, 400 FAILED_PRECONDITION) for reasons no schema can carry.
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
]

# The event streams (/v1/stream/...) never end, so no request to them could
# be judged; gateway/gateway_test.go and forms_test.go test them instead.
# /healthz and /readyz are in.
EXCLUDED_PATHS = "^/v1/stream/"

CONFIG = """\
auth:
  anonymous_read: false
  tokens:
    - {name: admin, scope: admin, env: XCTL_SCHEMATHESIS_ADMIN_TOKEN}
price: {source: simulated, pairs: [BTC-USDT, ETH-USDT], interval_ms: 200}
strategies:
  - {id: demo, type: external, pairs: [BTC-USDT, ETH-USDT]}
  - {id: tv-demo, type: tradingview, pairs: [BTC-USDT]}
"""


def wait_port(path: Path, process: subprocess.Popen[bytes], name: str, log: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} exited with {process.returncode} before serving:\n{log.read_text(errors='replace')}")
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n") and text.strip().isdigit():
            return int(text)
        time.sleep(0.05)
    sys.exit(f"{name} wrote no port within {START_TIMEOUT_S} s:\n{log.read_text(errors='replace')}")


def wait_healthy(base: str, token: str) -> None:
    """Waits for /healthz and a first price, so no case meets a server still starting."""
    deadline = time.monotonic() + START_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(base + "/v1/prices/BTC-USDT", headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r, urllib.request.urlopen(request, timeout=5) as p:
                if r.status == 200 and p.status == 200:
                    return
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.1)
    sys.exit(f"the gateway at {base} was not healthy with prices within {START_TIMEOUT_S} s ({last})")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xctld", required=True, type=Path)
    parser.add_argument("--gateway", required=True, type=Path)
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--report-dir", required=True, type=Path)
    args = parser.parse_args()
    args.xctld, args.gateway, args.spec = (p.resolve() for p in (args.xctld, args.gateway, args.spec))

    schemathesis = Path(sys.executable).with_name("schemathesis")
    if not schemathesis.exists():
        sys.exit(f"{schemathesis} not found: run client/python/setup.sh (it installs schemathesis into .venv)")
    for binary in (args.xctld, args.gateway):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} not found: build xctld and xctl-gateway first")

    examples = os.environ.get("XCTL_SCHEMATHESIS_EXAMPLES", "25")
    seed = os.environ.get("XCTL_SCHEMATHESIS_SEED", "1")
    work = Path(tempfile.mkdtemp(prefix="xctl-schemathesis-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        (work / "xctl.yaml").write_text(CONFIG)
        env = dict(os.environ)
        env["XCTL_SCHEMATHESIS_ADMIN_TOKEN"] = ADMIN_TOKEN
        env["XCTL_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
        xctld_log = work / "xctld.log"
        with xctld_log.open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [
                        str(args.xctld),
                        f"--config={work / 'xctl.yaml'}",
                        f"--db=sqlite:{work / 'xctl.db'}",
                        "--listen=127.0.0.1:0",
                        f"--port-file={work / 'xctld.port'}",
                    ],
                    cwd=work,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        grpc_port = wait_port(work / "xctld.port", processes[0], "xctld", xctld_log)
        gateway_log = work / "gateway.log"
        with gateway_log.open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [
                        str(args.gateway),
                        "--listen=127.0.0.1:0",
                        "--metrics-listen=127.0.0.1:0",
                        f"--port-file={work / 'gateway.port'}",
                        f"--grpc=127.0.0.1:{grpc_port}",
                    ],
                    cwd=work,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        http_port = wait_port(work / "gateway.port", processes[1], "xctl-gateway", gateway_log)
        base = f"http://127.0.0.1:{http_port}"
        wait_healthy(base, ADMIN_TOKEN)

        shutil.rmtree(args.report_dir, ignore_errors=True)
        args.report_dir.mkdir(parents=True)
        command = [
            str(schemathesis),
            "run",
            str(args.spec),
            f"--url={base}",
            f"--header=Authorization: Bearer {ADMIN_TOKEN}",
            f"--checks={','.join(CHECKS)}",
            f"--exclude-path-regex={EXCLUDED_PATHS}",
            "--phases=examples,coverage,fuzzing",
            f"--max-examples={examples}",
            f"--seed={seed}",
            "--workers=1",
            "--request-timeout=10",
            "--continue-on-failure",
            "--suppress-health-check=all",
            "--report=junit,ndjson",
            f"--report-dir={args.report_dir}",
            "--no-color",
        ]
        if max_time := os.environ.get("XCTL_SCHEMATHESIS_MAX_TIME"):
            command.append(f"--max-time={max_time}")
        command += shlex.split(os.environ.get("XCTL_SCHEMATHESIS_ARGS", ""))
        shown = [c.replace(ADMIN_TOKEN, "***") for c in command]
        print("+", shlex.join(shown), flush=True)
        started = time.monotonic()
        result = subprocess.run(command, check=False)
        print(f"schemathesis exited with {result.returncode} after {time.monotonic() - started:.1f} s", flush=True)

        for process in processes:
            if process.poll() is not None:
                print(f"{process.args[0]} died during the run (exit {process.returncode})", file=sys.stderr)
                result.returncode = result.returncode or 1
        if result.returncode != 0:
            # The server side of the failures, for whoever reads the CTest log.
            for log_path in (xctld_log, gateway_log):
                lines = log_path.read_text(errors="replace").splitlines()
                print(f"--- last lines of {log_path.name} ---", file=sys.stderr)
                print("\n".join(lines[-40:]), file=sys.stderr)
        return result.returncode
    finally:
        for process in reversed(processes):
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
