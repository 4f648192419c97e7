"""Shared machinery of the docs tests (test_readme.py, test_docs.py): reading the command lines
of a Markdown page, a mirror of the checkout to run them in, running one line or a long-running
one, the local fake BloFin. See test_readme.py for why the commands run from a mirror.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GRPC = "127.0.0.1:50051"
HTTP = "127.0.0.1:8080"
START_TIMEOUT_S = 180.0  # scripts/run sets up and builds first (a no-op once built)
HEALTH = "build/tools/grpcurl -plaintext 127.0.0.1:50051 grpc.health.v1.Health/Check"


def page_commands(page: Path, inline_curl: bool = False) -> list[str]:
    """A page's command lines: each line of its ```sh blocks (continuations joined, comments
    and blank lines left out) and, with `inline_curl`, its inline `curl ...` spans."""
    text = page.read_text()
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", "").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.strip())
    if inline_curl:
        lines += re.findall(r"`(curl [^`]+)`", text)
    return lines


def check_covered(pages: dict[str, dict[str, str]]) -> None:
    """Every command line of each page is a key of its table, and every key is a line."""
    for page, table in pages.items():
        lines = page_commands(REPO / page, inline_curl=page == "README.md")
        missing = [line for line in lines if line not in table]
        assert not missing, (
            f"{page} lines that no scenario of tests/docs/ runs; add each to its table and check "
            "it in a scenario:\n" + "\n".join(missing)
        )
        stale = [line for line in table if line not in lines]
        assert not stale, f"lines the tables list and {page} no longer has:\n" + "\n".join(stale)


def make_mirror(tmp_path: Path) -> Path:
    """A folder that looks like the checkout (links to it) but has its own data/."""
    for entry in REPO.iterdir():
        if entry.name not in ("data", ".git"):
            (tmp_path / entry.name).symlink_to(entry)
    return tmp_path


def ports_free() -> None:
    for address in (GRPC, HTTP):
        host, port = address.split(":")
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, int(port)))
            except OSError:
                pytest.fail(f"{address} is in use: the README's commands need it (stop the demo first)")


def run(line: str, cwd: Path, timeout: float = 30.0, env: dict[str, str] | None = None,
        streams: bool = False) -> str:
    """Runs one README line with bash in `cwd`; returns its output. A line that streams
    (`--watch`, StreamPrices) is stopped after `timeout` and must have printed something."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("XCTL_SERVER", "XCTL_TOKEN")}
    full_env.update(env or {})
    try:
        done = subprocess.run(["bash", "-c", line], cwd=cwd, env=full_env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        assert streams, f"{line!r} did not finish within {timeout} s:\n{out}"
        assert out.strip(), f"{line!r} printed nothing within {timeout} s"
        return out
    assert not streams, f"{line!r} should stream but exited {done.returncode}:\n{done.stdout}{done.stderr}"
    assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


@contextlib.contextmanager
def background(line: str, cwd: Path, ready: str, env: dict[str, str] | None = None) -> Iterator[Path]:
    """Starts a long-running README line; waits until its output shows `ready`; on exit sends
    SIGINT (Ctrl-C) to its process group and expects a clean stop."""
    log = cwd / f"background-{abs(hash(line))}.log"
    full_env = dict(os.environ)
    full_env.update(env or {})
    with log.open("wb") as out:
        proc = subprocess.Popen(["bash", "-c", line], cwd=cwd, env=full_env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None:
                pytest.fail(f"{line!r} exited {proc.returncode} before {ready!r}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{line!r} did not print {ready!r} within {START_TIMEOUT_S} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                pytest.fail(f"{line!r} did not stop within 30 s of Ctrl-C:\n{log.read_text()}")


def wait_serving(cwd: Path) -> None:
    """Waits until xctld on the README's port says SERVING (the README's health line)."""
    health = HEALTH
    deadline = time.monotonic() + 60
    last = ""
    while time.monotonic() < deadline:
        done = subprocess.run(["bash", "-c", health], cwd=cwd, capture_output=True, text=True)
        last = done.stdout + done.stderr
        if '"SERVING"' in last:
            return
        time.sleep(0.2)
    pytest.fail(f"xctld never said SERVING: {last}")


@contextlib.contextmanager
def fake_blofin(work: Path) -> Iterator[str]:
    """The local fake BloFin server (tests/fake_blofin/); yields its base URL."""
    port_file = work / "fake-port"
    proc = subprocess.Popen([sys.executable, str(REPO / "tests/fake_blofin/fake_blofin.py"),
                             "--port", "0", "--port-file", str(port_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().endswith("\n")):
            assert proc.poll() is None and time.monotonic() < deadline, "the fake BloFin did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        control(url, "limits", '{"ip": null, "ip_long": null}')  # the suites' pace, not BloFin's
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def control(url: str, what: str, body: str) -> None:
    """POST /_control/<what> of the fake BloFin."""
    request = urllib.request.Request(f"{url}/_control/{what}", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        assert r.status == 200, f"fake BloFin /_control/{what}: {r.status}"




def run_credentials_lines(mirror: Path, set_line: str, clear_line: str, strategy: str,
                          env: dict[str, str] | None = None) -> None:
    """Runs a page's `set-credentials` and `clear-credentials` lines against xctld on the demo
    config, with live orders going to the local fake BloFin: the line's `...` placeholders become
    an account of the fake. `strategy` must show live after the first line and paper after the
    second."""
    with fake_blofin(mirror) as url:
        control(url, "accounts", '{"apiKey":"docs-key","secret":"docs-secret",'
                                 '"passphrase":"docs-pass","balance":"5000"}')
        config = mirror / "demo-fake-blofin.yaml"
        config.write_text((REPO / "server/config/demo.yaml").read_text()
                          + f"blofin: {{url: \"{url}\"}}\n")
        with background(f"build/server/xctld --config {config}", mirror, ready="event=xctld_serving"):
            wait_serving(mirror)
            with_keys = (set_line.replace("XCTL_API_KEY=...", "XCTL_API_KEY=docs-key")
                         .replace("XCTL_API_SECRET=...", "XCTL_API_SECRET=docs-secret")
                         .replace("XCTL_PASSPHRASE=...", "XCTL_PASSPHRASE=docs-pass"))
            assert "..." not in with_keys, with_keys
            out = run(with_keys, mirror, env=env)
            assert re.search(rf"{strategy}\s+\S+\s+live", out), out
            out = run(clear_line, mirror, env=env)
            assert re.search(rf"{strategy}\s+\S+\s+paper", out), out
