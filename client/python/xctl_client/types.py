"""Plain Python values for the xctl.v1 messages: frozen dataclasses and string enums.

Money, prices and quantities are ``decimal.Decimal`` (the API's ``Decimal``
message is a plain-notation string; an unset one is ``None``), times are
timezone-aware UTC ``datetime`` (``None`` when unset), durations ``timedelta``.
Every enum is a ``str`` enum whose values are the lowercase proto names
without their prefix (``Side.BUY == "buy"``, ``OrderStatus.FILLED ==
"filled"``), so they compare equal to, and print as, plain strings.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, TypeVar, Union

from xctl_client.pb import exchange_control_pb2, prices_pb2, strategy_manager_pb2, types_pb2

__all__ = [
    "Balance",
    "CloseResult",
    "DecimalLike",
    "Exposure",
    "Fill",
    "Instrument",
    "KpiReport",
    "Kpis",
    "Order",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "TriggerOrder",
    "Position",
    "PositionSide",
    "PositionStatus",
    "Side",
    "Strategy",
    "StrategyStatus",
    "StreamStatus",
    "Tick",
    "TradingMode",
]

DecimalLike = Union[decimal.Decimal, int, float, str]
"""What the client accepts for a decimal argument.

``Decimal`` and ``int`` are exact; a ``float`` is converted through its
shortest ``repr`` (``0.1`` -> ``"0.1"``); a ``str`` is sent as is, so the server
judges it (``"1e3"`` is refused with INVALID_ARGUMENT).
"""


# ---------------------------------------------------------------------------
# Enums


class _ProtoEnum(str, Enum):
    """A str enum mapped to a proto enum by name (``SIDE_BUY`` <-> ``"buy"``)."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def parse(cls: type[_E], value: _E | str) -> _E:
        """The member for ``value``: a member, or its value in any case (``"BUY"``, ``"buy"``).

        Raises ValueError naming the valid values for anything else.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        valid = ", ".join(repr(m.value) for m in cls if m.value != "unspecified")
        raise ValueError(f"{cls.__name__}: expected one of {valid}, got {value!r}")

    @classmethod
    def from_proto(cls: type[_E], number: int) -> _E:
        """The member for a proto enum number; numbers unknown to this client map to UNSPECIFIED."""
        descriptor = _ENUM_DESCRIPTORS[cls.__name__]
        value = descriptor.values_by_number.get(number)
        if value is None:
            return cls("unspecified")
        return cls(value.name[len(cls._proto_prefix()) :].lower())

    @property
    def proto_name(self) -> str:
        """The proto enum value name of this member (``Side.BUY.proto_name == "SIDE_BUY"``).

        Generated message constructors take it in place of the number.
        """
        return type(self)._proto_prefix() + str(self.value).upper()

    def to_proto(self) -> int:
        """The proto enum number of this member."""
        descriptor = _ENUM_DESCRIPTORS[type(self).__name__]
        return int(descriptor.values_by_name[self.proto_name].number)

    @classmethod
    def _proto_prefix(cls) -> str:
        return _ENUM_DESCRIPTORS[cls.__name__].name_prefix


_E = TypeVar("_E", bound=_ProtoEnum)


class Side(_ProtoEnum):
    """Direction of an order: ``buy`` or ``sell``."""

    UNSPECIFIED = "unspecified"
    BUY = "buy"
    SELL = "sell"


class PositionSide(_ProtoEnum):
    """Direction of a position: ``long`` or ``short`` (one net position per symbol and strategy)."""

    UNSPECIFIED = "unspecified"
    LONG = "long"
    SHORT = "short"


class OrderType(_ProtoEnum):
    """``market`` (fills at once at the latest price), ``limit`` (rests until crossed),
    ``post_only`` (a limit that is canceled if it would trade at once), ``ioc`` (fills what
    crosses at once, cancels the rest) or ``fok`` (fills in full at once or not at all)."""

    UNSPECIFIED = "unspecified"
    MARKET = "market"
    LIMIT = "limit"
    POST_ONLY = "post_only"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(_ProtoEnum):
    """Lifecycle state of an order."""

    UNSPECIFIED = "unspecified"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"


class PositionStatus(_ProtoEnum):
    """``open`` or ``closed``."""

    UNSPECIFIED = "unspecified"
    OPEN = "open"
    CLOSED = "closed"


class TradingMode(_ProtoEnum):
    """``paper`` (no credentials) or ``live`` (BloFin credentials)."""

    UNSPECIFIED = "unspecified"
    PAPER = "paper"
    LIVE = "live"


class StrategyStatus(_ProtoEnum):
    """Runtime status of a strategy (docs/strategies.md, "Status")."""

    UNSPECIFIED = "unspecified"
    STOPPED = "stopped"
    RUNNING = "running"
    FAILED = "failed"


@dataclass(frozen=True)
class _EnumDescriptor:
    name_prefix: str
    values_by_name: Mapping[str, Any]
    values_by_number: Mapping[int, Any]


def _describe(proto_enum: Any, prefix: str) -> _EnumDescriptor:
    d = proto_enum.DESCRIPTOR
    return _EnumDescriptor(prefix, d.values_by_name, d.values_by_number)


_ENUM_DESCRIPTORS: dict[str, _EnumDescriptor] = {
    "Side": _describe(types_pb2.Side, "SIDE_"),
    "PositionSide": _describe(types_pb2.PositionSide, "POSITION_SIDE_"),
    "OrderType": _describe(types_pb2.OrderType, "ORDER_TYPE_"),
    "OrderStatus": _describe(types_pb2.OrderStatus, "ORDER_STATUS_"),
    "PositionStatus": _describe(types_pb2.PositionStatus, "POSITION_STATUS_"),
    "TradingMode": _describe(types_pb2.TradingMode, "TRADING_MODE_"),
    "StrategyStatus": _describe(strategy_manager_pb2.StrategyStatus, "STRATEGY_STATUS_"),
}


# ---------------------------------------------------------------------------
# Conversions


def decimal_to_str(value: DecimalLike) -> str:
    """The plain-notation string the API expects for ``value`` (see ``DecimalLike``)."""
    if isinstance(value, bool):
        raise TypeError(f"expected a decimal number, got {value!r}")
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)  # the server refuses it with INVALID_ARGUMENT
        value = decimal.Decimal(repr(value))
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)  # the server refuses it with INVALID_ARGUMENT
        return format(value, "f")
    raise TypeError(f"expected a decimal number (Decimal, int, float or str), got {type(value).__name__}")


def decimal_to_proto(value: DecimalLike | None) -> types_pb2.Decimal | None:
    """``value`` as an API Decimal message, or None (unset) for None."""
    return None if value is None else types_pb2.Decimal(value=decimal_to_str(value))


def _dec(message: Any, name: str) -> decimal.Decimal | None:
    if not message.HasField(name):
        return None
    text = getattr(message, name).value
    if text == "":
        return None
    return decimal.Decimal(text)


def _dec0(message: Any, name: str) -> decimal.Decimal:
    value = _dec(message, name)
    return decimal.Decimal(0) if value is None else value


def _time(message: Any, name: str) -> datetime | None:
    if not message.HasField(name):
        return None
    ts = getattr(message, name)
    return datetime.fromtimestamp(ts.seconds, tz=timezone.utc) + timedelta(microseconds=ts.nanos // 1000)


def _duration(message: Any, name: str) -> timedelta | None:
    if not message.HasField(name):
        return None
    d = getattr(message, name)
    return timedelta(seconds=d.seconds, microseconds=d.nanos // 1000)


# ---------------------------------------------------------------------------
# Messages


@dataclass(frozen=True)
class Tick:
    """The latest price of one pair, as cached by the server's price module."""

    pair: str
    """BloFin instrument id, e.g. ``"BTC-USDT"``."""
    bid: decimal.Decimal | None
    ask: decimal.Decimal | None
    last: decimal.Decimal | None
    exchange_time: datetime | None
    """When the exchange produced the price."""
    receive_time: datetime | None
    """When xctld received it."""
    sequence: int
    """Increases by one each time this pair's cached tick changes."""
    stale: bool
    """True when the pair has not updated for a while; the price is the last good one."""

    @property
    def mid(self) -> decimal.Decimal | None:
        """(bid + ask) / 2, or None without both."""
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2

    @classmethod
    def from_proto(cls, m: prices_pb2.Tick) -> Tick:
        """Converts a ``xctl.v1.Tick``."""
        return cls(
            pair=m.pair,
            bid=_dec(m, "bid"),
            ask=_dec(m, "ask"),
            last=_dec(m, "last"),
            exchange_time=_time(m, "exchange_time"),
            receive_time=_time(m, "receive_time"),
            sequence=int(m.sequence),
            stale=bool(m.stale),
        )


@dataclass(frozen=True)
class StreamStatus:
    """A notice inside a stream that does not end it (``UNKNOWN_PAIR``, ``STALE``, ``RECOVERED``)."""

    code: str
    message: str
    keys: tuple[str, ...]
    """The pairs or strategy ids it is about."""

    @classmethod
    def from_proto(cls, m: types_pb2.StreamStatus) -> StreamStatus:
        """Converts a ``xctl.v1.StreamStatus``."""
        return cls(code=m.code, message=m.message, keys=tuple(m.keys))


@dataclass(frozen=True)
class TriggerOrder:
    """A take-profit or stop-loss: when the last price reaches ``trigger_price`` the position is
    closed by a reduce-only order, a limit at ``order_price`` or a market order when it is None."""

    trigger_price: decimal.Decimal
    order_price: decimal.Decimal | None

    @classmethod
    def from_parent(cls, m: Any, name: str) -> TriggerOrder | None:
        """The ``name`` field (``take_profit``/``stop_loss``) of ``m``, or None when unset."""
        if not m.HasField(name):
            return None
        t = getattr(m, name)
        return cls(trigger_price=_dec0(t, "trigger_price"), order_price=_dec(t, "order_price"))


@dataclass(frozen=True)
class Order:
    """An order as xctl stores it."""

    id: str
    """xctl's id of the order."""
    strategy_id: str
    client_order_id: str
    """The caller's idempotency key."""
    exchange_order_id: str
    """The exchange's id (paper: ``"paper-<id>"``)."""
    symbol: str
    side: Side
    type: OrderType
    price: decimal.Decimal | None
    """Limit price; None for market orders."""
    quantity: decimal.Decimal
    """In contracts."""
    status: OrderStatus
    filled_quantity: decimal.Decimal
    average_price: decimal.Decimal | None
    fee: decimal.Decimal
    """Fees charged on the fills so far, in USDT."""
    reduce_only: bool
    mode: TradingMode
    reject_reason: str
    create_time: datetime | None
    update_time: datetime | None
    take_profit: TriggerOrder | None = None
    """The take-profit the order carries, if any."""
    stop_loss: TriggerOrder | None = None

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Order) -> Order:
        """Converts a ``xctl.v1.Order``."""
        return cls(
            id=m.id,
            strategy_id=m.strategy_id,
            client_order_id=m.client_order_id,
            exchange_order_id=m.exchange_order_id,
            symbol=m.symbol,
            side=Side.from_proto(m.side),
            type=OrderType.from_proto(m.type),
            price=_dec(m, "price"),
            quantity=_dec0(m, "quantity"),
            status=OrderStatus.from_proto(m.status),
            filled_quantity=_dec0(m, "filled_quantity"),
            average_price=_dec(m, "average_price"),
            fee=_dec0(m, "fee"),
            reduce_only=bool(m.reduce_only),
            mode=TradingMode.from_proto(m.mode),
            reject_reason=m.reject_reason,
            create_time=_time(m, "create_time"),
            update_time=_time(m, "update_time"),
            take_profit=TriggerOrder.from_parent(m, "take_profit"),
            stop_loss=TriggerOrder.from_parent(m, "stop_loss"),
        )


@dataclass(frozen=True)
class Fill:
    """One execution of an order."""

    id: str
    order_id: str
    price: decimal.Decimal
    quantity: decimal.Decimal
    fee: decimal.Decimal
    maker: bool
    """True when the fill added liquidity (maker fee)."""
    time: datetime | None

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Fill) -> Fill:
        """Converts a ``xctl.v1.Fill``."""
        return cls(
            id=m.id,
            order_id=m.order_id,
            price=_dec0(m, "price"),
            quantity=_dec0(m, "quantity"),
            fee=_dec0(m, "fee"),
            maker=bool(m.maker),
            time=_time(m, "time"),
        )


@dataclass(frozen=True)
class OrderResult:
    """What placing an order (or a signal) returns."""

    order: Order
    fills: tuple[Fill, ...]
    replayed: bool
    """True when the client_order_id was seen before: this is the first request's stored result
    and nothing was traded now."""

    @classmethod
    def from_proto(
        cls, m: exchange_control_pb2.PlaceOrderResponse | strategy_manager_pb2.SubmitSignalResponse
    ) -> OrderResult:
        """Converts a ``PlaceOrderResponse`` or a ``SubmitSignalResponse``."""
        return cls(
            order=Order.from_proto(m.order),
            fills=tuple(Fill.from_proto(f) for f in m.fills),
            replayed=bool(m.replayed),
        )


@dataclass(frozen=True)
class Position:
    """A position with its live mark (open) or its result (closed)."""

    id: str
    strategy_id: str
    strategy_type: str
    symbol: str
    side: PositionSide
    status: PositionStatus
    quantity: decimal.Decimal
    """In contracts."""
    open_price: decimal.Decimal | None
    close_price: decimal.Decimal | None
    """None while open."""
    pnl: decimal.Decimal | None
    """Realized PnL net of fees once closed; None while open."""
    unrealized_pnl: decimal.Decimal | None
    """At ``mark_price``, open positions only."""
    mark_price: decimal.Decimal | None
    fees: decimal.Decimal
    mode: TradingMode
    exchange: str
    """``"paper"`` or ``"blofin"``."""
    open_time: datetime | None
    close_time: datetime | None

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Position) -> Position:
        """Converts a ``xctl.v1.Position``."""
        return cls(
            id=m.id,
            strategy_id=m.strategy_id,
            strategy_type=m.strategy_type,
            symbol=m.symbol,
            side=PositionSide.from_proto(m.side),
            status=PositionStatus.from_proto(m.status),
            quantity=_dec0(m, "quantity"),
            open_price=_dec(m, "open_price"),
            close_price=_dec(m, "close_price"),
            pnl=_dec(m, "pnl"),
            unrealized_pnl=_dec(m, "unrealized_pnl"),
            mark_price=_dec(m, "mark_price"),
            fees=_dec0(m, "fees"),
            mode=TradingMode.from_proto(m.mode),
            exchange=m.exchange,
            open_time=_time(m, "open_time"),
            close_time=_time(m, "close_time"),
        )

    @property
    def signed_quantity(self) -> decimal.Decimal:
        """Quantity with the sign of the side: long positive, short negative."""
        return -self.quantity if self.side is PositionSide.SHORT else self.quantity


@dataclass(frozen=True)
class CloseResult:
    """What closing a position returns."""

    order: Order
    """The reduce-only market order that closed it."""
    fills: tuple[Fill, ...]
    closed_positions: tuple[Position, ...]
    """The position rows closed (a partial close returns the closed part)."""

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.ClosePositionResponse) -> CloseResult:
        """Converts a ``ClosePositionResponse``."""
        return cls(
            order=Order.from_proto(m.order),
            fills=tuple(Fill.from_proto(f) for f in m.fills),
            closed_positions=tuple(Position.from_proto(p) for p in m.closed_positions),
        )


@dataclass(frozen=True)
class Balance:
    """A strategy's account."""

    strategy_id: str
    mode: TradingMode
    currency: str
    """Settlement currency, ``"USDT"``."""
    balance: decimal.Decimal
    """Cash: starting balance plus realized PnL net of fees."""
    equity: decimal.Decimal
    """Balance plus unrealized PnL."""
    margin_used: decimal.Decimal
    available: decimal.Decimal
    """Equity minus margin in use."""
    starting_balance: decimal.Decimal
    leverage: decimal.Decimal

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Balance) -> Balance:
        """Converts a ``xctl.v1.Balance``."""
        return cls(
            strategy_id=m.strategy_id,
            mode=TradingMode.from_proto(m.mode),
            currency=m.currency,
            balance=_dec0(m, "balance"),
            equity=_dec0(m, "equity"),
            margin_used=_dec0(m, "margin_used"),
            available=_dec0(m, "available"),
            starting_balance=_dec0(m, "starting_balance"),
            leverage=_dec0(m, "leverage"),
        )


@dataclass(frozen=True)
class Instrument:
    """Contract specification of a tradable symbol."""

    symbol: str
    contract_value: decimal.Decimal
    """Base currency amount of one contract."""
    lot_size: decimal.Decimal
    """Quantities are multiples of this."""
    min_size: decimal.Decimal
    tick_size: decimal.Decimal
    """Prices are multiples of this."""
    max_leverage: decimal.Decimal

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Instrument) -> Instrument:
        """Converts a ``xctl.v1.Instrument``."""
        return cls(
            symbol=m.symbol,
            contract_value=_dec0(m, "contract_value"),
            lot_size=_dec0(m, "lot_size"),
            min_size=_dec0(m, "min_size"),
            tick_size=_dec0(m, "tick_size"),
            max_leverage=_dec0(m, "max_leverage"),
        )


@dataclass(frozen=True)
class Exposure:
    """Net open exposure in one symbol."""

    symbol: str
    quantity: decimal.Decimal
    """Signed contracts: long positive, short negative."""
    notional: decimal.Decimal
    """Absolute notional at the mark price, in USDT."""

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Exposure) -> Exposure:
        """Converts a ``xctl.v1.Exposure``."""
        return cls(symbol=m.symbol, quantity=_dec0(m, "quantity"), notional=_dec0(m, "notional"))


@dataclass(frozen=True)
class Kpis:
    """Performance figures of one scope (docs/kpis.md gives every formula).

    The scope is one strategy (``strategy_id`` set), one strategy type
    (``strategy_type`` set) or everything (both None). A ratio that is
    undefined for the data (no trades, no losses, fewer than two days) is None.
    """

    strategy_id: str | None
    strategy_type: str | None
    realized_pnl: decimal.Decimal
    unrealized_pnl: decimal.Decimal
    total_pnl: decimal.Decimal
    fees_paid: decimal.Decimal
    equity: decimal.Decimal
    starting_balance: decimal.Decimal
    return_fraction: decimal.Decimal | None
    closed_trades: int
    win_rate: decimal.Decimal | None
    average_win: decimal.Decimal | None
    average_loss: decimal.Decimal | None
    largest_win: decimal.Decimal | None
    largest_loss: decimal.Decimal | None
    profit_factor: decimal.Decimal | None
    expectancy: decimal.Decimal | None
    average_holding_time: timedelta | None
    max_drawdown: decimal.Decimal | None
    max_drawdown_fraction: decimal.Decimal | None
    sharpe_ratio: decimal.Decimal | None
    sortino_ratio: decimal.Decimal | None
    calmar_ratio: decimal.Decimal | None
    open_exposure: tuple[Exposure, ...]
    open_positions: int
    update_time: datetime | None

    @property
    def scope(self) -> str:
        """``"all"``, ``"type:<type>"`` or the strategy id, as the CLI prints it."""
        if self.strategy_id is not None:
            return self.strategy_id
        if self.strategy_type is not None:
            return f"type:{self.strategy_type}"
        return "all"

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.Kpis) -> Kpis:
        """Converts a ``xctl.v1.Kpis``."""
        which = m.scope.WhichOneof("scope") if m.HasField("scope") else None
        return cls(
            strategy_id=m.scope.strategy_id if which == "strategy_id" else None,
            strategy_type=m.scope.strategy_type if which == "strategy_type" else None,
            realized_pnl=_dec0(m, "realized_pnl"),
            unrealized_pnl=_dec0(m, "unrealized_pnl"),
            total_pnl=_dec0(m, "total_pnl"),
            fees_paid=_dec0(m, "fees_paid"),
            equity=_dec0(m, "equity"),
            starting_balance=_dec0(m, "starting_balance"),
            return_fraction=_dec(m, "return_fraction"),
            closed_trades=int(m.closed_trades),
            win_rate=_dec(m, "win_rate"),
            average_win=_dec(m, "average_win"),
            average_loss=_dec(m, "average_loss"),
            largest_win=_dec(m, "largest_win"),
            largest_loss=_dec(m, "largest_loss"),
            profit_factor=_dec(m, "profit_factor"),
            expectancy=_dec(m, "expectancy"),
            average_holding_time=_duration(m, "average_holding_time"),
            max_drawdown=_dec(m, "max_drawdown"),
            max_drawdown_fraction=_dec(m, "max_drawdown_fraction"),
            sharpe_ratio=_dec(m, "sharpe_ratio"),
            sortino_ratio=_dec(m, "sortino_ratio"),
            calmar_ratio=_dec(m, "calmar_ratio"),
            open_exposure=tuple(Exposure.from_proto(e) for e in m.open_exposure),
            open_positions=int(m.open_positions),
            update_time=_time(m, "update_time"),
        )


@dataclass(frozen=True)
class KpiReport:
    """KPIs of a request: the aggregate and its breakdown."""

    total: Kpis
    """The aggregate over the requested scope."""
    strategies: tuple[Kpis, ...]
    """One entry per strategy in the scope."""
    types: tuple[Kpis, ...]
    """One entry per strategy type in the scope."""

    @classmethod
    def from_proto(cls, m: exchange_control_pb2.GetKpisResponse) -> KpiReport:
        """Converts a ``GetKpisResponse``."""
        return cls(
            total=Kpis.from_proto(m.total),
            strategies=tuple(Kpis.from_proto(k) for k in m.strategies),
            types=tuple(Kpis.from_proto(k) for k in m.types),
        )


@dataclass(frozen=True)
class Strategy:
    """A strategy as the StrategyManager reports it (never with credentials or secrets)."""

    id: str
    name: str
    type: str
    """``"sma_cross"``, ``"tradingview"``, ``"external"``, ..."""
    mode: TradingMode
    status: StrategyStatus
    status_message: str
    """Why it is FAILED, if it is."""
    pairs: tuple[str, ...]
    params: Mapping[str, str] = field(hash=False)
    starting_balance: decimal.Decimal | None
    leverage: decimal.Decimal | None
    taker_fee_rate: decimal.Decimal | None
    """None means BloFin's standard rate."""
    maker_fee_rate: decimal.Decimal | None
    has_credentials: bool
    has_signal_secret: bool
    create_time: datetime | None
    update_time: datetime | None

    @property
    def running(self) -> bool:
        """True when the strategy is RUNNING."""
        return self.status is StrategyStatus.RUNNING

    @classmethod
    def from_proto(cls, m: strategy_manager_pb2.Strategy) -> Strategy:
        """Converts a ``xctl.v1.Strategy``."""
        return cls(
            id=m.id,
            name=m.name,
            type=m.type,
            mode=TradingMode.from_proto(m.mode),
            status=StrategyStatus.from_proto(m.status),
            status_message=m.status_message,
            pairs=tuple(m.pairs),
            params=dict(m.params),
            starting_balance=_dec(m, "starting_balance"),
            leverage=_dec(m, "leverage"),
            taker_fee_rate=_dec(m, "taker_fee_rate"),
            maker_fee_rate=_dec(m, "maker_fee_rate"),
            has_credentials=bool(m.has_credentials),
            has_signal_secret=bool(m.has_signal_secret),
            create_time=_time(m, "create_time"),
            update_time=_time(m, "update_time"),
        )
