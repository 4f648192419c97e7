"""The typed client against a real xctld: prices, streams, trading, strategies, errors."""

from __future__ import annotations

import contextlib
import itertools
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import PAIRS, Server, free_port
from xctl_client import (
    Client,
    Kpis,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
    Side,
    StrategyStatus,
    StreamStatus,
    TradingMode,
    TriggerOrder,
    XctlError,
)

QTY = Decimal("0.1")  # BTC-USDT and ETH-USDT lot and minimum size


def new_id(prefix: str) -> str:
    """A strategy id not used before in this session."""
    return f"{prefix}-{secrets.token_hex(4)}"


@contextlib.contextmanager
def watchdog(client: Client, seconds: float) -> Iterator[None]:
    """Closes ``client`` after ``seconds``, so a stream that stops delivering fails the test."""
    timer = threading.Timer(seconds, client.close)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def expect_error(code: str, fn: object, *args: object, **kwargs: object) -> XctlError:
    """Calls ``fn`` and returns the XctlError it must raise with ``code``."""
    with pytest.raises(XctlError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert info.value.code == code, f"expected {code}, got {info.value!r}"
    return info.value


# -- prices -------------------------------------------------------------------


def test_prices_of_every_configured_pair(client: Client) -> None:
    ticks = client.prices()
    assert set(ticks) == set(PAIRS)
    now = datetime.now(timezone.utc)
    for pair, tick in ticks.items():
        assert tick.pair == pair
        assert isinstance(tick.last, Decimal) and isinstance(tick.bid, Decimal) and isinstance(tick.ask, Decimal)
        assert Decimal(0) < tick.bid < tick.ask
        assert tick.bid <= tick.last <= tick.ask
        assert tick.mid == (tick.bid + tick.ask) / 2
        assert tick.sequence >= 1
        assert not tick.stale
        assert tick.receive_time is not None and tick.receive_time.tzinfo is not None
        assert abs(now - tick.receive_time) < timedelta(minutes=1)
    # BTC's simulated walk starts at 64000, ETH's at 3200.
    btc, eth = ticks["BTC-USDT"].last, ticks["ETH-USDT"].last
    assert btc is not None and eth is not None and btc > 10 * eth


def test_prices_of_some_pairs_and_one_price(client: Client) -> None:
    assert set(client.prices(["ETH-USDT"])) == {"ETH-USDT"}
    assert set(client.prices("BTC-USDT")) == {"BTC-USDT"}
    tick = client.price("BTC-USDT")
    assert tick.pair == "BTC-USDT" and tick.last is not None


def test_price_errors(client: Client) -> None:
    error = expect_error("NOT_FOUND", client.price, "SOL-USDT")
    assert "SOL-USDT" in error.message
    expect_error("INVALID_ARGUMENT", client.price, "btcusdt")


def test_stream_prices_snapshot_then_updates(server: Server) -> None:
    statuses: list[StreamStatus] = []
    with Client(server.address) as c, watchdog(c, 15):
        stream = c.stream_prices(["BTC-USDT", "SOL-USDT"], on_status=statuses.append)
        snapshot = next(stream)
        assert [t.pair for t in snapshot] == ["BTC-USDT"]
        sequence = snapshot[0].sequence
        for update in itertools.islice(stream, 3):
            assert update, "an update holds at least one tick"
            assert {t.pair for t in update} == {"BTC-USDT"}
            assert update[-1].sequence > sequence
            sequence = update[-1].sequence
        stream.close()
    assert [(s.code, s.keys) for s in statuses] == [("UNKNOWN_PAIR", ("SOL-USDT",))]


def test_stream_prices_of_every_pair(server: Server) -> None:
    with Client(server.address) as c, watchdog(c, 15):
        stream = c.stream_prices()
        snapshot = next(stream)
        assert sorted(t.pair for t in snapshot) == sorted(PAIRS)
        update = next(stream)
        assert {t.pair for t in update} <= set(PAIRS) and update
        stream.close()


# -- strategies and trading -----------------------------------------------------


def test_create_trade_positions_kpis_balance(client: Client) -> None:
    sid = new_id("py-trade")
    strategy = client.create_strategy(
        sid, "external", ["BTC-USDT", "ETH-USDT"], params={"note": "x", "n": 3}, starting_balance="5000", leverage=2
    )
    assert strategy.id == sid and strategy.name == sid
    assert strategy.type == "external"
    assert strategy.status is StrategyStatus.RUNNING and strategy.running
    assert strategy.mode is TradingMode.PAPER and not strategy.has_credentials
    assert strategy.pairs == ("BTC-USDT", "ETH-USDT")
    assert strategy.params == {"note": "x", "n": "3"}
    assert strategy.starting_balance == Decimal(5000) and strategy.leverage == Decimal(2)

    placed = client.place_order(sid, "BTC-USDT", "buy", QTY, client_order_id="pyA1")
    order = placed.order
    assert not placed.replayed
    assert order.strategy_id == sid and order.client_order_id == "pyA1" and order.exchange_order_id
    assert order.side is Side.BUY and order.type is OrderType.MARKET and order.price is None
    assert order.status is OrderStatus.FILLED
    assert order.quantity == QTY and order.filled_quantity == QTY
    assert order.mode is TradingMode.PAPER
    assert len(placed.fills) == 1
    fill = placed.fills[0]
    assert fill.order_id == order.id and fill.quantity == QTY and not fill.maker
    assert fill.price == order.average_price and fill.price > 0
    assert fill.fee > 0 and order.fee == fill.fee

    # The same client order id again: the stored result, nothing traded.
    again = client.place_order(sid, "BTC-USDT", Side.BUY, "0.1", client_order_id="pyA1")
    assert again.replayed and again.order.id == order.id

    positions = client.positions(strategy_id=sid)
    assert len(positions) == 1
    position = positions[0]
    assert position.strategy_id == sid and position.strategy_type == "external"
    assert position.symbol == "BTC-USDT" and position.side is PositionSide.LONG
    assert position.status is PositionStatus.OPEN
    assert position.quantity == QTY and position.signed_quantity == QTY
    assert position.open_price == fill.price and position.close_price is None and position.pnl is None
    assert position.mark_price is not None and position.unrealized_pnl is not None
    assert position.exchange == "paper" and position.mode is TradingMode.PAPER
    assert client.positions(strategy_id=sid, symbol="ETH-USDT") == []
    assert [p.id for p in client.positions(strategy_type="external", status="all")].count(position.id) == 1

    orders = client.orders(strategy_id=sid)
    assert [o.id for o in orders] == [order.id]
    assert client.orders(strategy_id=sid, status="filled")[0].id == order.id
    assert client.orders(strategy_id=sid, status="canceled") == []

    balance = client.balance(sid)
    assert balance.strategy_id == sid and balance.currency == "USDT" and balance.mode is TradingMode.PAPER
    assert balance.starting_balance == Decimal(5000) and balance.leverage == Decimal(2)
    assert balance.balance == Decimal(5000) - fill.fee
    assert balance.margin_used > 0
    assert balance.available == balance.equity - balance.margin_used

    report = client.kpis(strategy_id=sid)
    total = report.total
    assert total.strategy_id == sid and total.scope == sid
    assert total.open_positions == 1 and total.closed_trades == 0
    assert total.fees_paid == fill.fee
    assert total.starting_balance == Decimal(5000)
    assert [(e.symbol, e.quantity) for e in total.open_exposure] == [("BTC-USDT", QTY)]
    assert total.win_rate is None  # undefined without closed trades
    assert [k.strategy_id for k in report.strategies] == [sid]

    closed = client.close_position(sid, "BTC-USDT", client_order_id="pyA2")
    assert closed.order.reduce_only and closed.order.side is Side.SELL
    assert closed.order.status is OrderStatus.FILLED
    assert len(closed.closed_positions) == 1
    done = closed.closed_positions[0]
    assert done.status is PositionStatus.CLOSED and done.pnl is not None and done.close_price is not None
    assert client.positions(strategy_id=sid) == []
    assert [p.id for p in client.positions(strategy_id=sid, status="closed")] == [done.id]
    assert len(client.orders(strategy_id=sid)) == 2
    assert len(client.orders(strategy_id=sid, limit=1)) == 1

    after = client.kpis(strategy_id=sid).total
    assert after.closed_trades == 1 and after.open_positions == 0
    assert after.realized_pnl == done.pnl
    assert after.win_rate is not None


def test_limit_order_rests_and_cancels(client: Client) -> None:
    sid = new_id("py-limit")
    client.create_strategy(sid, "external", ["BTC-USDT"])
    bid = client.price("BTC-USDT").bid
    assert bid is not None
    far_below = (bid / 2).quantize(Decimal("0.1"))
    placed = client.place_order(sid, "BTC-USDT", "buy", QTY, price=far_below, client_order_id="lim1")
    assert placed.order.type is OrderType.LIMIT and placed.order.price == far_below
    assert placed.order.status is OrderStatus.OPEN and placed.fills == ()
    assert [o.client_order_id for o in client.orders(strategy_id=sid, status="open")] == ["lim1"]
    canceled = client.cancel_order(sid, client_order_id="lim1")
    assert canceled.id == placed.order.id and canceled.status is OrderStatus.CANCELED
    assert client.orders(strategy_id=sid, status="open") == []
    expect_error("INVALID_ARGUMENT", client.place_order, sid, "BTC-USDT", "buy", QTY, price="1.05")  # tick size 0.1


def test_order_types_and_take_profit_stop_loss(client: Client) -> None:
    sid = new_id("py-types")
    client.create_strategy(sid, "external", ["BTC-USDT"])
    tick = client.price("BTC-USDT")
    assert tick.bid is not None and tick.ask is not None
    far_below = (tick.bid / 2).quantize(Decimal("0.1"))
    far_above = (tick.ask * 2).quantize(Decimal("0.1"))
    resting = client.place_order(sid, "BTC-USDT", "buy", QTY, price=far_below, order_type="post_only")
    assert resting.order.type is OrderType.POST_ONLY and resting.order.status is OrderStatus.OPEN
    taking = client.place_order(sid, "BTC-USDT", "buy", QTY, price=far_above, order_type=OrderType.POST_ONLY)
    assert taking.order.status is OrderStatus.CANCELED and taking.fills == ()
    missed = client.place_order(sid, "BTC-USDT", "buy", QTY, price=far_below, order_type="ioc")
    assert missed.order.type is OrderType.IOC and missed.order.status is OrderStatus.CANCELED
    opened = client.place_order(
        sid, "BTC-USDT", "buy", QTY, take_profit=far_above, stop_loss=far_below, stop_loss_price=far_below
    )
    assert opened.order.status is OrderStatus.FILLED
    assert opened.order.take_profit == TriggerOrder(trigger_price=far_above, order_price=None)
    assert opened.order.stop_loss == TriggerOrder(trigger_price=far_below, order_price=far_below)
    expect_error("INVALID_ARGUMENT", client.place_order, sid, "BTC-USDT", "buy", QTY, take_profit=far_below)
    with pytest.raises(ValueError):
        client.place_order(sid, "BTC-USDT", "buy", QTY, take_profit_price=far_above)


def test_stop_refuses_orders_and_start_resumes(client: Client) -> None:
    sid = new_id("py-stop")
    assert client.create_strategy(sid, "external", ["ETH-USDT"], start=False).status is StrategyStatus.STOPPED
    expect_error("FAILED_PRECONDITION", client.place_order, sid, "ETH-USDT", "sell", QTY)
    assert client.start_strategy(sid).running
    assert client.place_order(sid, "ETH-USDT", "sell", QTY).order.status is OrderStatus.FILLED
    assert client.positions(strategy_id=sid)[0].signed_quantity == -QTY
    assert client.stop_strategy(sid).status is StrategyStatus.STOPPED
    expect_error("FAILED_PRECONDITION", client.place_order, sid, "ETH-USDT", "buy", QTY)
    listed = {s.id: s for s in client.strategies(type="external")}
    assert listed[sid].status is StrategyStatus.STOPPED
    assert sid in {s.id for s in client.strategies(status="stopped")}
    assert sid not in {s.id for s in client.strategies(status="running")}
    assert client.strategy(sid).pairs == ("ETH-USDT",)


def test_submit_signal(client: Client) -> None:
    sid = new_id("py-tv")
    client.create_strategy(sid, "tradingview", ["BTC-USDT"], signal_secret="s3cret-for-tests")
    expect_error("PERMISSION_DENIED", client.submit_signal, sid, "buy", "BTC-USDT", QTY, secret="wrong")
    result = client.submit_signal(sid, "buy", "BTC-USDT", QTY, secret="s3cret-for-tests", client_order_id="tv1")
    assert result.order.status is OrderStatus.FILLED and result.order.client_order_id == "tv1"
    again = client.submit_signal(sid, "BUY", "BTC-USDT", "0.1", secret="s3cret-for-tests", client_order_id="tv1")
    assert again.replayed and again.order.id == result.order.id
    closed = client.submit_signal(sid, "close", "BTC-USDT", secret="s3cret-for-tests")
    assert closed.order.reduce_only
    assert client.positions(strategy_id=sid) == []


def test_kpis_of_everything(client: Client) -> None:
    sid = new_id("py-kpi")
    client.create_strategy(sid, "external", ["BTC-USDT"])
    client.place_order(sid, "BTC-USDT", "sell", QTY)
    report = client.kpis()
    assert report.total.scope == "all" and report.total.strategy_id is None
    assert "type:external" in {k.scope for k in report.types}
    assert sid in {k.strategy_id for k in report.strategies}
    by_type = client.kpis(strategy_type="external")
    assert by_type.total.strategy_type == "external"
    assert by_type.total.open_positions >= 1


def test_stream_kpis_and_positions_follow_a_trade(server: Server, client: Client) -> None:
    sid = new_id("py-stream")
    client.create_strategy(sid, "external", ["BTC-USDT"])
    with Client(server.address) as c, watchdog(c, 15):
        kpis = c.stream_kpis(strategy_id=sid)
        positions = c.stream_positions(strategy_id=sid)
        first = next(kpis)
        assert [k.strategy_id for k in first] == [sid] and first[0].open_positions == 0
        assert next(positions) == []

        client.place_order(sid, "BTC-USDT", "buy", QTY)

        opened = next(positions)
        assert [(p.strategy_id, p.side, p.quantity) for p in opened] == [(sid, PositionSide.LONG, QTY)]
        seen: Kpis | None = None
        for batch in kpis:
            mine = [k for k in batch if k.strategy_id == sid]
            if mine and mine[-1].open_positions == 1:
                seen = mine[-1]
                break
        assert seen is not None and seen.fees_paid > 0
        kpis.close()
        positions.close()


# -- errors ---------------------------------------------------------------------


def test_unknown_strategy_is_not_found(client: Client) -> None:
    error = expect_error("NOT_FOUND", client.place_order, "no-such-strategy", "BTC-USDT", "buy", QTY)
    assert "no-such-strategy" in error.message
    assert isinstance(error, Exception) and str(error).startswith("NOT_FOUND: ")
    expect_error("NOT_FOUND", client.balance, "no-such-strategy")
    expect_error("NOT_FOUND", client.strategy, "no-such-strategy")
    expect_error("NOT_FOUND", client.start_strategy, "no-such-strategy")
    expect_error("NOT_FOUND", client.kpis, strategy_id="no-such-strategy")


def test_bad_quantity_is_invalid_argument(client: Client) -> None:
    sid = new_id("py-bad")
    client.create_strategy(sid, "external", ["BTC-USDT"])
    for quantity in ("-1", Decimal("-0.1"), 0, "1e3", "abc", Decimal("0.15")):
        error = expect_error("INVALID_ARGUMENT", client.place_order, sid, "BTC-USDT", "buy", quantity)
        assert "quantity" in error.message
    assert client.orders(strategy_id=sid) == []
    with pytest.raises(ValueError, match="Side"):
        client.place_order(sid, "BTC-USDT", "hold", QTY)


def test_strategy_errors(client: Client) -> None:
    sid = new_id("py-dup")
    client.create_strategy(sid, "external", ["BTC-USDT"])
    expect_error("ALREADY_EXISTS", client.create_strategy, sid, "external", ["BTC-USDT"])
    error = expect_error("INVALID_ARGUMENT", client.create_strategy, new_id("py-x"), "no_such_type", ["BTC-USDT"])
    assert "external" in error.message  # lists the known types
    expect_error("INVALID_ARGUMENT", client.create_strategy, "Bad Id", "external", ["BTC-USDT"])
    expect_error("FAILED_PRECONDITION", client.close_position, sid, "BTC-USDT")


def test_unreachable_server_is_unavailable() -> None:
    with Client(f"127.0.0.1:{free_port()}", timeout=5) as c:
        expect_error("UNAVAILABLE", c.prices)
        expect_error("UNAVAILABLE", c.wait_ready, 0.5)
