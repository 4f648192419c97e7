"""Fixtures: a real xctld on 127.0.0.1 (free port, temporary SQLite database) and clients of it.

The binary is ``$XCTL_XCTLD``, default ``<repo>/build/server/xctld``; ctest
sets it to the build tree's (tests/python/CMakeLists.txt). A missing binary
fails the tests: they never skip.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from xctl_client import Client, XctlError

REPO = Path(__file__).resolve().parents[2]
PAIRS = ("BTC-USDT", "ETH-USDT")  # what xctld serves (simulated) without a config
PRICE_INTERVAL_MS = 100
START_TIMEOUT_S = 20.0


@dataclass
class Server:
    """A running xctld."""

    address: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything xctld printed so far."""
        return self.log_path.read_text(errors="replace")


def xctld_path() -> Path:
    """The xctld binary under test."""
    return Path(os.environ.get("XCTL_XCTLD") or REPO / "build" / "server" / "xctld")


def _wait_for_port(port_file: Path, process: subprocess.Popen[bytes], log_path: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    previous = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"xctld exited with {process.returncode} before serving:\n{log_path.read_text(errors='replace')}"
            )
        raw = port_file.read_text() if port_file.exists() else ""
        # Complete once newline-terminated (or unchanged between two reads).
        if raw.strip().isdigit() and (raw.endswith("\n") or raw == previous):
            return int(raw)
        previous = raw
        time.sleep(0.05)
    pytest.fail(
        f"xctld wrote no port to {port_file} within {START_TIMEOUT_S} s:\n{log_path.read_text(errors='replace')}"
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Starts xctld for the session: simulated BTC-USDT and ETH-USDT every 100 ms, no strategies."""
    binary = xctld_path()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"xctld not found at {binary}: build it (cmake --build build --target xctld) or set XCTL_XCTLD")
    work = tmp_path_factory.mktemp("xctld")
    port_file = work / "port"
    log_path = work / "xctld.log"
    env = dict(os.environ)
    # A throwaway master key, so xctld never creates ./data/xctl.key anywhere.
    env["XCTL_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "--listen=127.0.0.1:0",
                f"--port-file={port_file}",
                f"--db=sqlite:{work / 'xctl.db'}",
                f"--price-interval-ms={PRICE_INTERVAL_MS}",
            ],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        port = _wait_for_port(port_file, process, log_path)
        srv = Server(address=f"127.0.0.1:{port}", process=process, log_path=log_path)
        _wait_for_prices(srv.address)
        yield srv
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, (
        f"xctld exited with {process.returncode} on SIGTERM:\n{log_path.read_text(errors='replace')}"
    )


def _wait_for_prices(address: str) -> None:
    with Client(address, timeout=5.0) as client:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if set(client.prices()) >= set(PAIRS):
                    return
            except XctlError as e:
                if e.code != "UNAVAILABLE":
                    raise
            time.sleep(0.05)
    pytest.fail(f"xctld at {address} served no prices for {PAIRS} within {START_TIMEOUT_S} s")


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    """A client of the session's xctld with a 10 s deadline per call."""
    with Client(server.address, timeout=10.0) as c:
        yield c


def free_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_xctld(work: Path, config: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Starts xctld with ``config`` (YAML text) in ``work`` on a free loopback port; stops it on exit.

    Unlike the ``server`` fixture it waits for the port only (a server with
    tokens or TLS answers no plain client), and it leaves the exit code alone.
    """
    binary = xctld_path()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"xctld not found at {binary}: build it (cmake --build build --target xctld) or set XCTL_XCTLD")
    (work / "xctl.yaml").write_text(config)
    port_file = work / "port"
    log_path = work / "xctld.log"
    full_env = dict(os.environ)
    full_env["XCTL_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    full_env.update(env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary.resolve()),
                f"--config={work / 'xctl.yaml'}",
                "--listen=127.0.0.1:0",
                f"--port-file={port_file}",
                f"--db=sqlite:{work / 'xctl.db'}",
            ],
            cwd=work,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        port = _wait_for_port(port_file, process, log_path)
        yield Server(address=f"127.0.0.1:{port}", process=process, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
