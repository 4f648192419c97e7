"""client/python/examples/aibot.py against a real xctld: it creates its strategy and trades on paper."""

from __future__ import annotations

import importlib.util
import re
import secrets
import subprocess
import sys
from decimal import Decimal
from types import ModuleType

import pytest
from conftest import REPO, Server, free_port
from xctl_client import Client, OrderStatus, OrderType, TradingMode, XctlError

AIBOT = REPO / "client" / "python" / "examples" / "aibot.py"
QTY = Decimal("0.1")


def run_aibot(*args: str, timeout: float = 45) -> subprocess.CompletedProcess[str]:
    """Runs the example with this interpreter (the venv holding xctl_client)."""
    return subprocess.run(
        [sys.executable, str(AIBOT), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def order_lines(stdout: str) -> list[str]:
    """The decision lines that placed an order."""
    return [line for line in stdout.splitlines() if " coid=" in line]


def test_aibot_trades_under_its_own_strategy(server: Server, client: Client) -> None:
    sid = f"aibot-{secrets.token_hex(4)}"
    run = run_aibot(
        "--server", server.address, "--strategy", sid, "--pairs", "BTC-USDT",
        "--max-orders", "2", "--window", "3", "--quantity", "0.1",
    )  # fmt: skip
    assert run.returncode == 0, f"aibot failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    assert f"created strategy {sid}" in run.stdout
    lines = order_lines(run.stdout)
    assert len(lines) == 2, run.stdout
    printed_ids = [re.search(r" coid=(\w+)", line).group(1) for line in lines]  # type: ignore[union-attr]

    strategy = client.strategy(sid)
    assert strategy.type == "external" and strategy.running and strategy.mode is TradingMode.PAPER
    assert strategy.pairs == ("BTC-USDT",)

    orders = client.orders(strategy_id=sid)
    assert len(orders) == 2
    assert sorted(o.client_order_id for o in orders) == sorted(printed_ids)
    assert len(set(printed_ids)) == 2
    for order in orders:
        assert order.strategy_id == sid and order.symbol == "BTC-USDT"
        assert order.type is OrderType.MARKET and order.status is OrderStatus.FILLED
        assert order.mode is TradingMode.PAPER
    # Oldest first: the first order opens 0.1 one way, the second flips it (0.2).
    first, second = sorted(orders, key=lambda o: int(o.id))
    assert first.quantity == QTY and second.quantity == 2 * QTY and first.side != second.side

    open_positions = client.positions(strategy_id=sid)
    assert len(open_positions) == 1
    assert abs(open_positions[0].signed_quantity) == QTY
    assert open_positions[0].side.value == ("long" if second.side.value == "buy" else "short")
    assert len(client.positions(strategy_id=sid, status="all")) == 2  # the first one closed by the flip
    assert f"position now {open_positions[0].signed_quantity}" in lines[-1]

    # A second run reuses the strategy (ALREADY_EXISTS is fine) and starts from its position.
    client.stop_strategy(sid)
    rerun = run_aibot(
        "--server", server.address, "--strategy", sid, "--pairs", "BTC-USDT", "--max-orders", "1", "--window", "3"
    )
    assert rerun.returncode == 0, f"aibot rerun failed ({rerun.returncode}):\n{rerun.stdout}\n{rerun.stderr}"
    assert f"using existing strategy {sid}" in rerun.stdout
    assert f"positions BTC-USDT={open_positions[0].signed_quantity}" in rerun.stdout
    assert client.strategy(sid).running
    assert len(client.orders(strategy_id=sid)) == 3


def test_aibot_unreachable_server_exits_non_zero() -> None:
    run = run_aibot("--server", f"127.0.0.1:{free_port()}", "--max-orders", "1", "--connect-timeout", "1", timeout=20)
    assert run.returncode == 2
    assert "not reachable" in run.stderr and "aibot:" in run.stderr
    assert run.stdout == ""


def test_aibot_refuses_a_strategy_of_another_type(server: Server, client: Client) -> None:
    sid = f"aibot-tv-{secrets.token_hex(4)}"
    client.create_strategy(sid, "tradingview", ["BTC-USDT"])
    run = run_aibot("--server", server.address, "--strategy", sid, "--max-orders", "1", timeout=20)
    assert run.returncode == 1
    assert f"strategy {sid} is of type tradingview" in run.stderr
    assert client.orders(strategy_id=sid) == []


def load_aibot() -> ModuleType:
    """Imports the example as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("aibot_under_test", AIBOT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LosesFirstResponse:
    """A client whose first place_order reaches xctld but whose answer is lost (UNAVAILABLE)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.calls = 0

    def place_order(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        result = self.client.place_order(*args, **kwargs)  # type: ignore[arg-type]
        if self.calls == 1:
            raise XctlError("UNAVAILABLE", "connection reset (simulated)")
        return result


def test_aibot_retry_never_trades_twice(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    aibot = load_aibot()
    monkeypatch.setattr(aibot.time, "sleep", lambda _s: None)
    sid = f"aibot-retry-{secrets.token_hex(4)}"
    client.create_strategy(sid, "external", ["ETH-USDT"])
    flaky = LosesFirstResponse(client)
    result = aibot.place_with_retry(flaky, sid, "ETH-USDT", aibot.Side.BUY, QTY, "retry1")
    assert flaky.calls == 2
    assert result.replayed and result.order.client_order_id == "retry1"
    orders = client.orders(strategy_id=sid)
    assert len(orders) == 1 and orders[0].filled_quantity == QTY


def test_decide_is_momentum_over_the_window() -> None:
    decide = load_aibot().decide
    d = Decimal
    assert decide([d(100), d(99), d(101)], d(0)) == 1
    assert decide([d(100), d(102), d(99)], d(0)) == -1
    assert decide([d(100), d(50), d(100)], d(0)) == 0
    assert decide([d(100), d("100.05")], d("0.001")) == 0  # +0.05% is under a 0.1% threshold
    assert decide([d(100), d("100.2")], d("0.001")) == 1
