"""Tokens and TLS through the client: a real xctld with auth.tokens, then with TLS too.

The token goes on every call (unary, streams, the raw stubs) from ``token=``
or ``$XCTL_TOKEN``; TLS from ``ca_file=`` or ``$XCTL_CA`` with a self-signed
certificate made by openssl, as tests/server/auth_e2e_test.cc does.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import time
import warnings
from collections.abc import Generator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, Server, run_xctld
from xctl_client import Client, InsecureTokenWarning, Side, XctlError
from xctl_client.pb import exchange_control_pb2 as ec
from xctl_client.pb import prices_pb2 as pr

ADMIN_TOKEN = "admin-" + secrets.token_hex(16)
BOT_TOKEN = "bot-" + secrets.token_hex(16)
CONFIG = f"""\
auth:
  anonymous_read: false
  tokens:
    - {{name: admin, scope: admin, env: XCTL_TEST_ADMIN_TOKEN}}
    - {{name: bot, scope: "strategy:bot", sha256: {hashlib.sha256(BOT_TOKEN.encode()).hexdigest()}}}
price: {{source: simulated, pairs: [BTC-USDT], interval_ms: 100}}
strategies:
  - {{id: bot, type: external, pairs: [BTC-USDT]}}
  - {{id: other, type: external, pairs: [BTC-USDT]}}
"""
START_TIMEOUT_S = 20.0


def openssl_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key


def wait_for_prices(client: Client) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if "BTC-USDT" in client.prices():
                return
        except XctlError as e:
            if e.code != "UNAVAILABLE" or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            pytest.fail("xctld served no BTC-USDT price in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """xctld with an admin token and a token for strategy "bot" only; plaintext on loopback."""
    with run_xctld(tmp_path_factory.mktemp("auth"), CONFIG, {"XCTL_TEST_ADMIN_TOKEN": ADMIN_TOKEN}) as srv:
        with Client(srv.address, token=ADMIN_TOKEN) as c:
            wait_for_prices(c)
        yield srv


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="module")
def tls_server(tls_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same tokens, served over TLS only (tls_dir/server.crt)."""
    cert, key = openssl_certificate(tls_dir, "server")
    config = CONFIG + f"tls: {{cert_file: {cert}, key_file: {key}}}\n"
    with run_xctld(tmp_path_factory.mktemp("tls-xctld"), config, {"XCTL_TEST_ADMIN_TOKEN": ADMIN_TOKEN}) as srv:
        with Client(srv.address, token=ADMIN_TOKEN, ca_file=cert) as c:
            wait_for_prices(c)
        yield srv


@pytest.fixture(autouse=True)
def no_token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without $XCTL_TOKEN and $XCTL_CA; a test sets them when it means to."""
    monkeypatch.delenv("XCTL_TOKEN", raising=False)
    monkeypatch.delenv("XCTL_CA", raising=False)


def first_batch(stream: Generator[list[Any], None, None]) -> list[Any]:
    """The stream's snapshot; the stream is closed after it."""
    try:
        return next(stream)
    finally:
        stream.close()


# -- tokens -------------------------------------------------------------------


def test_without_a_token_every_call_is_unauthenticated(auth_server: Server) -> None:
    with Client(auth_server.address) as c:
        with pytest.raises(XctlError) as e:
            c.prices()
        assert e.value.code == "UNAUTHENTICATED"
        with pytest.raises(XctlError) as e:
            first_batch(c.stream_prices(["BTC-USDT"]))
        assert e.value.code == "UNAUTHENTICATED"


def test_the_token_goes_on_unary_calls_streams_and_raw_stubs(auth_server: Server) -> None:
    with Client(auth_server.address, token=ADMIN_TOKEN) as c:
        assert "BTC-USDT" in c.prices()
        assert [t.pair for t in first_batch(c.stream_prices(["BTC-USDT"]))] == ["BTC-USDT"]
        first_batch(c.stream_kpis())  # an admin may read every strategy's KPIs
        raw = c.exchange_control.ListInstruments(ec.ListInstrumentsRequest(symbols=["BTC-USDT"]), timeout=10)
        assert [i.symbol for i in raw.instruments] == ["BTC-USDT"]
        # Admin-only calls work, and a strategy made here trades.
        sid = f"py-auth-{secrets.token_hex(4)}"
        c.create_strategy(sid, "external", ["BTC-USDT"], start=True)
        order = c.place_order(sid, "BTC-USDT", Side.BUY, Decimal("0.1"))
        assert order.order.strategy_id == sid


def test_a_strategy_token_reaches_its_strategy_only(auth_server: Server) -> None:
    with Client(auth_server.address, token=BOT_TOKEN) as c:
        c.positions("bot")
        first_batch(c.stream_positions("bot"))
        with pytest.raises(XctlError) as e:
            c.positions("other")
        assert e.value.code == "PERMISSION_DENIED"
        with pytest.raises(XctlError) as e:
            c.create_strategy("not-mine", "external", ["BTC-USDT"])
        assert e.value.code == "PERMISSION_DENIED"


def test_the_token_comes_from_xctl_token_unless_given(auth_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XCTL_TOKEN", ADMIN_TOKEN)
    with Client(auth_server.address) as c:
        assert "BTC-USDT" in c.prices()
    with Client(auth_server.address, token="") as c:  # "" sends none, whatever the environment says
        with pytest.raises(XctlError) as e:
            c.prices()
        assert e.value.code == "UNAUTHENTICATED"
    with Client(auth_server.address, token="wrong-token") as c:  # the argument wins
        with pytest.raises(XctlError) as e:
            c.prices()
        assert e.value.code == "UNAUTHENTICATED"


def test_a_token_of_the_caller_replaces_the_clients_on_raw_calls(auth_server: Server) -> None:
    with Client(auth_server.address, token=ADMIN_TOKEN) as c:
        # The client's token is sent once, instead of any authorization the caller adds.
        raw = c.price_feed.ListPrices(pr.ListPricesRequest(), metadata=[("authorization", "Bearer x")], timeout=10)
        assert raw.ticks


def test_the_token_appears_in_no_repr_and_no_server_log(auth_server: Server) -> None:
    c = Client(auth_server.address, token=ADMIN_TOKEN)
    try:
        c.prices()
        assert ADMIN_TOKEN not in repr(c) and ADMIN_TOKEN not in repr(vars(c))
    finally:
        c.close()
    assert ADMIN_TOKEN not in auth_server.log()


def test_a_token_in_plaintext_to_another_host_warns() -> None:
    # The channel is lazy: nothing is sent to these addresses.
    for address in ("xctl.example.invalid:50051", "192.0.2.10:50051", "[2001:db8::1]:50051"):
        with pytest.warns(InsecureTokenWarning, match="plaintext"):
            Client(address, token="t").close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for address in ("127.0.0.1:50051", "localhost:50051", "[::1]:50051", "unix:/tmp/xctl.sock"):
            Client(address, token="t").close()  # loopback: no warning
        Client("xctl.example.invalid:50051").close()  # no token: nothing to protect


# -- TLS ----------------------------------------------------------------------


def test_tls_with_the_servers_certificate(tls_server: Server, tls_dir: Path) -> None:
    with Client(tls_server.address, token=ADMIN_TOKEN, ca_file=tls_dir / "server.crt") as c:
        assert c.tls
        assert "BTC-USDT" in c.prices()
        assert [t.pair for t in first_batch(c.stream_prices(["BTC-USDT"]))] == ["BTC-USDT"]


def test_tls_and_token_from_the_environment(
    tls_server: Server, tls_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XCTL_CA", str(tls_dir / "server.crt"))
    monkeypatch.setenv("XCTL_TOKEN", BOT_TOKEN)
    with Client(tls_server.address) as c:
        assert c.tls
        c.positions("bot")
        with pytest.raises(XctlError) as e:
            c.positions("other")
        assert e.value.code == "PERMISSION_DENIED"


def test_tls_without_a_token_is_unauthenticated(tls_server: Server, tls_dir: Path) -> None:
    with Client(tls_server.address, ca_file=tls_dir / "server.crt") as c:
        with pytest.raises(XctlError) as e:
            c.prices()
        assert e.value.code == "UNAUTHENTICATED"


def test_tls_refuses_plaintext_and_an_untrusted_certificate(tls_server: Server, tls_dir: Path) -> None:
    other, _ = openssl_certificate(tls_dir, "other")
    for kwargs in ({}, {"ca_file": other}):
        with Client(tls_server.address, timeout=3.0, token=ADMIN_TOKEN, **kwargs) as c:  # type: ignore[arg-type]
            with pytest.raises(XctlError) as e:
                c.prices()
            assert e.value.code == "UNAVAILABLE"


def test_an_unreadable_ca_file_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot read the CA file"):
        Client("127.0.0.1:1", ca_file=tmp_path / "missing.crt")


def test_tls_to_another_host_does_not_warn(tls_dir: Path, tls_server: Server) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Client("xctl.example.invalid:50051", token="t", ca_file=tls_dir / "server.crt").close()



# -- the example bot ----------------------------------------------------------


def test_aibot_with_a_strategy_token_over_tls(tls_server: Server, tls_dir: Path) -> None:
    """aibot takes $XCTL_TOKEN and --ca; a strategy token uses the strategy an admin made."""
    aibot = REPO / "client" / "python" / "examples" / "aibot.py"
    env = {k: v for k, v in os.environ.items() if k not in ("XCTL_TOKEN", "XCTL_CA")}
    args = [sys.executable, str(aibot), "--server", tls_server.address, "--pairs", "BTC-USDT", "--window", "2"]
    run = subprocess.run(
        [*args, "--strategy", "bot", "--max-orders", "1", "--ca", str(tls_dir / "server.crt")],
        env={**env, "XCTL_TOKEN": BOT_TOKEN},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"aibot failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    assert "using existing strategy bot" in run.stdout and " coid=" in run.stdout
    with Client(tls_server.address, token=ADMIN_TOKEN, ca_file=tls_dir / "server.crt") as admin:
        assert len(admin.orders(strategy_id="bot")) == 1

    # A strategy the token may not create and that does not exist: a clear refusal.
    missing = subprocess.run(
        [*args, "--strategy", "absent", "--max-orders", "1"],
        env={**env, "XCTL_TOKEN": BOT_TOKEN, "XCTL_CA": str(tls_dir / "server.crt")},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "may not create it" in missing.stderr or "PERMISSION_DENIED" in missing.stderr, missing.stderr
