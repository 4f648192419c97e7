"""``Client``: a typed, synchronous wrapper over the three xctl.v1 gRPC services."""

from __future__ import annotations

import collections
import ipaddress
import os
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, TypeVar

import grpc

from xctl_client.errors import XctlError
from xctl_client.pb import exchange_control_pb2 as ec
from xctl_client.pb import exchange_control_pb2_grpc, prices_pb2_grpc, strategy_manager_pb2_grpc
from xctl_client.pb import prices_pb2 as pr
from xctl_client.pb import strategy_manager_pb2 as sm
from xctl_client.types import (
    Balance,
    CloseResult,
    DecimalLike,
    Instrument,
    KpiReport,
    Kpis,
    Order,
    OrderResult,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Side,
    Strategy,
    StrategyStatus,
    StreamStatus,
    Tick,
    TradingMode,
    _ProtoEnum,
    decimal_to_proto,
    decimal_to_str,
)

__all__ = ["Client", "DEFAULT_ADDRESS", "InsecureTokenWarning"]

DEFAULT_ADDRESS = "127.0.0.1:50051"
"""Where ``xctld`` listens by default."""

_MAX_PAGE_SIZE = 1000
_T = TypeVar("_T")

StatusCallback = Callable[[StreamStatus], None]
"""Receives the ``status`` elements of a stream (``UNKNOWN_PAIR``, ``STALE``, ...)."""


class InsecureTokenWarning(UserWarning):
    """A bearer token is about to travel in plaintext to a host that is not this machine."""


class Client:
    """A connection to ``xctld``.

    Every method is one gRPC call (lists follow every page), raises
    ``XctlError`` with the status code name and the server's message when the
    call fails, and converts decimals to and from ``decimal.Decimal``. Unary
    calls time out after ``timeout`` seconds (None: never); streams have no
    deadline and end when the caller stops iterating (or calls ``close()`` on
    the iterator).

    The wrapper covers the day-to-day API; the raw stubs are
    ``price_feed``, ``exchange_control`` and ``strategy_manager`` for
    everything else (credentials, ``UpdateStrategy``, reconciliation), with
    the messages in ``xctl_client.pb``.

    Use it as a context manager, or call ``close()``::

        with Client("127.0.0.1:50051") as xctl:
            print(xctl.prices())

    For a server with tokens and TLS (docs/security.md)::

        Client("xctl.example:50051", token="...", ca_file="/etc/xctl/ca.crt")

    or set ``XCTL_TOKEN`` and ``XCTL_CA`` as for the ``xctl`` CLI.
    """

    address: str
    timeout: float | None
    tls: bool
    price_feed: prices_pb2_grpc.PriceFeedStub
    exchange_control: exchange_control_pb2_grpc.ExchangeControlStub
    strategy_manager: strategy_manager_pb2_grpc.StrategyManagerStub

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        timeout: float | None = 10.0,
        *,
        token: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        """Connects (lazily) to ``address`` (``HOST:PORT``).

        ``token`` is sent as ``authorization: Bearer <token>`` metadata on
        every call, streams and the raw stubs included; None reads
        ``$XCTL_TOKEN`` (as the ``xctl`` CLI does), ``""`` sends none.

        ``ca_file`` is the PEM file of the CA (or self-signed certificate)
        that the server's TLS certificate must chain to, and switches the
        channel to TLS; None reads ``$XCTL_CA``, ``""`` (or neither set)
        means plaintext. An unreadable file raises ``OSError``.

        A token over plaintext to an address that is not loopback (or a Unix
        socket) would cross the network in the clear: the client then warns
        with ``InsecureTokenWarning`` (turn it into an error with
        ``warnings.simplefilter("error", InsecureTokenWarning)``).

        ``channel`` replaces the channel the client would make (custom
        credentials or options; ``ca_file`` is then ignored); the client
        adds the token to it and does not close it.
        """
        self.address = address
        self.timeout = timeout
        if token is None:
            token = os.environ.get("XCTL_TOKEN", "")
        token = token.strip()
        if ca_file is None:
            ca_file = os.environ.get("XCTL_CA", "")
        self._owns_channel = channel is None
        if channel is None:
            if ca_file:
                channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=_read_ca(ca_file)))
            else:
                if token and not _is_local(address):
                    warnings.warn(
                        f"xctl_client: sending a bearer token in plaintext to {address}; "
                        "give ca_file= (or $XCTL_CA) to use TLS",
                        InsecureTokenWarning,
                        stacklevel=2,
                    )
                channel = grpc.insecure_channel(address)
        self._channel = channel
        self.tls = bool(ca_file) and self._owns_channel  # the client made a TLS channel
        calls = grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
        # The generated stubs carry no annotations.
        self.price_feed = prices_pb2_grpc.PriceFeedStub(calls)  # type: ignore[no-untyped-call]
        self.exchange_control = exchange_control_pb2_grpc.ExchangeControlStub(calls)  # type: ignore[no-untyped-call]
        self.strategy_manager = strategy_manager_pb2_grpc.StrategyManagerStub(calls)  # type: ignore[no-untyped-call]

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Closes the channel (if the client made it); open streams end."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.address!r}, timeout={self.timeout!r}, tls={self.tls!r})"

    def wait_ready(self, timeout: float | None = None) -> None:
        """Waits until the server accepts connections.

        Raises ``XctlError("UNAVAILABLE", ...)`` after ``timeout`` seconds
        (default: the client's timeout).
        """
        limit = self.timeout if timeout is None else timeout
        try:
            grpc.channel_ready_future(self._channel).result(timeout=limit)
        except grpc.FutureTimeoutError:
            raise XctlError("UNAVAILABLE", f"xctld at {self.address} is not reachable (waited {limit} s)") from None

    # -- prices -------------------------------------------------------------

    def price(self, pair: str) -> Tick:
        """The latest tick of one pair.

        NOT_FOUND when the pair is not configured, UNAVAILABLE before its
        first price.
        """
        response = self._call(self.price_feed.GetPrice, pr.GetPriceRequest(pair=pair))
        return Tick.from_proto(response.tick)

    def prices(self, pairs: Iterable[str] | None = None) -> dict[str, Tick]:
        """The latest tick of each pair (every configured pair by default), keyed by pair.

        Pairs without a price yet are left out.
        """
        response = self._call(self.price_feed.ListPrices, pr.ListPricesRequest(pairs=_strs(pairs)))
        return {t.pair: Tick.from_proto(t) for t in response.ticks}

    def stream_prices(
        self, pairs: Iterable[str] | None = None, *, on_status: StatusCallback | None = None
    ) -> Generator[list[Tick], None, None]:
        """Yields the snapshot of ``pairs`` (default: every configured pair), then each update.

        An update holds every requested pair that changed since the previous
        one (newest tick only; a slow reader is conflated, never buffered).
        Heartbeats are skipped; ``status`` elements (an unknown pair, a stale
        price) go to ``on_status`` when given. The stream has no deadline:
        stop iterating, or call ``close()`` on the iterator, to end it.
        """
        request = pr.StreamPricesRequest(pairs=_strs(pairs))
        return self._stream(
            lambda: self.price_feed.StreamPrices(request),
            lambda payload: [Tick.from_proto(t) for t in payload.ticks],
            on_status,
        )

    # -- orders and positions -----------------------------------------------

    def place_order(
        self,
        strategy_id: str,
        symbol: str,
        side: Side | str,
        quantity: DecimalLike,
        price: DecimalLike | None = None,
        client_order_id: str | None = None,
        reduce_only: bool = False,
        order_type: OrderType | str | None = None,
        take_profit: DecimalLike | None = None,
        take_profit_price: DecimalLike | None = None,
        stop_loss: DecimalLike | None = None,
        stop_loss_price: DecimalLike | None = None,
    ) -> OrderResult:
        """Places an order for a running strategy: a limit order with ``price``, else a market order.

        ``order_type`` (an ``OrderType`` or ``"post_only"``, ``"ioc"``, ``"fok"``, ...)
        overrides that choice; every type but market needs ``price``. ``take_profit`` /
        ``stop_loss`` are trigger prices: when the last price reaches one, the position
        the order opened is closed, at ``take_profit_price`` / ``stop_loss_price`` or at
        market when those are not given.

        ``side`` is ``"buy"`` or ``"sell"`` (or a ``Side``); ``quantity`` is in
        contracts. ``client_order_id`` (1-32 letters and digits) makes the call
        idempotent: a retry with the same id returns the stored result with
        ``replayed`` set and never trades twice, so retrying after
        UNAVAILABLE or a timeout is safe. Without it the server picks one.
        """
        request = ec.PlaceOrderRequest(
            strategy_id=strategy_id,
            symbol=symbol,
            side=Side.parse(side).proto_name,
            type=(
                OrderType.parse(order_type)
                if order_type is not None
                else (OrderType.MARKET if price is None else OrderType.LIMIT)
            ).proto_name,
            quantity=decimal_to_proto(quantity),
            price=decimal_to_proto(price),
            client_order_id=client_order_id or "",
            reduce_only=reduce_only,
        )
        for leg, trigger, limit in (
            (request.take_profit, take_profit, take_profit_price),
            (request.stop_loss, stop_loss, stop_loss_price),
        ):
            if trigger is None:
                if limit is not None:
                    raise ValueError("a take-profit / stop-loss price needs its trigger price")
                continue
            leg.trigger_price.CopyFrom(decimal_to_proto(trigger))
            if limit is not None:
                leg.order_price.CopyFrom(decimal_to_proto(limit))
        return OrderResult.from_proto(self._call(self.exchange_control.PlaceOrder, request))

    def cancel_order(self, strategy_id: str, order_id: str | None = None, client_order_id: str | None = None) -> Order:
        """Cancels a resting order, named by exactly one of ``order_id`` and ``client_order_id``."""
        request = ec.CancelOrderRequest(
            strategy_id=strategy_id, order_id=order_id or "", client_order_id=client_order_id or ""
        )
        return Order.from_proto(self._call(self.exchange_control.CancelOrder, request).order)

    def close_position(
        self,
        strategy_id: str,
        symbol: str,
        quantity: DecimalLike | None = None,
        client_order_id: str | None = None,
    ) -> CloseResult:
        """Closes ``quantity`` contracts (default: all) of the strategy's position in ``symbol``.

        FAILED_PRECONDITION when there is nothing to close.
        """
        request = ec.ClosePositionRequest(
            strategy_id=strategy_id,
            symbol=symbol,
            quantity=decimal_to_proto(quantity),
            client_order_id=client_order_id or "",
        )
        return CloseResult.from_proto(self._call(self.exchange_control.ClosePosition, request))

    def positions(
        self,
        strategy_id: str | None = None,
        strategy_type: str | None = None,
        status: PositionStatus | str | None = "open",
        symbol: str | None = None,
        limit: int | None = None,
    ) -> list[Position]:
        """Positions, newest first, filtered by strategy or strategy type and symbol.

        ``status`` is ``"open"`` (default), ``"closed"`` or ``"all"`` (or
        None). Follows every page, up to ``limit`` positions when given.
        """
        request = ec.ListPositionsRequest(
            strategy_id=strategy_id or "",
            strategy_type=strategy_type or "",
            symbol=symbol or "",
            status=_status_filter(PositionStatus, status),
        )
        return self._pages(self.exchange_control.ListPositions, request, "positions", Position.from_proto, limit)

    def orders(
        self,
        strategy_id: str | None = None,
        strategy_type: str | None = None,
        status: OrderStatus | str | None = "all",
        symbol: str | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        """Orders, newest first, filtered by strategy or strategy type, status and symbol.

        ``status`` is ``"all"`` (default, or None), ``"open"``,
        ``"partially_filled"``, ``"filled"``, ``"canceled"`` or ``"rejected"``.
        Follows every page, up to ``limit`` orders when given.
        """
        request = ec.ListOrdersRequest(
            strategy_id=strategy_id or "",
            strategy_type=strategy_type or "",
            symbol=symbol or "",
            status=_status_filter(OrderStatus, status),
        )
        return self._pages(self.exchange_control.ListOrders, request, "orders", Order.from_proto, limit)

    def balance(self, strategy_id: str) -> Balance:
        """The strategy's account: balance, equity, margin in use, available."""
        response = self._call(self.exchange_control.GetBalance, ec.GetBalanceRequest(strategy_id=strategy_id))
        return Balance.from_proto(response.balance)

    def instruments(self, symbols: Iterable[str] | None = None) -> list[Instrument]:
        """Contract specifications (lot size, tick size, ...) of ``symbols`` (default: every pair)."""
        response = self._call(self.exchange_control.ListInstruments, ec.ListInstrumentsRequest(symbols=_strs(symbols)))
        return [Instrument.from_proto(i) for i in response.instruments]

    def stream_positions(
        self,
        strategy_id: str | None = None,
        strategy_type: str | None = None,
        include_closed: bool = False,
        *,
        on_status: StatusCallback | None = None,
    ) -> Generator[list[Position], None, None]:
        """Yields the open positions in scope, then each batch of changed positions.

        With ``include_closed`` positions are also sent as they close.
        Heartbeats are skipped; ``status`` elements go to ``on_status``.
        """
        request = ec.StreamPositionsRequest(
            strategy_id=strategy_id or "", strategy_type=strategy_type or "", include_closed=include_closed
        )
        return self._stream(
            lambda: self.exchange_control.StreamPositions(request),
            lambda payload: [Position.from_proto(p) for p in payload.positions],
            on_status,
        )

    # -- KPIs ---------------------------------------------------------------

    def kpis(self, strategy_id: str | None = None, strategy_type: str | None = None) -> KpiReport:
        """KPIs of one strategy, one strategy type, or (neither given) everything.

        ``total`` is the aggregate over the scope; ``strategies`` and
        ``types`` break it down.
        """
        request = ec.GetKpisRequest(strategy_id=strategy_id or "", strategy_type=strategy_type or "")
        return KpiReport.from_proto(self._call(self.exchange_control.GetKpis, request))

    def stream_kpis(
        self,
        strategy_id: str | None = None,
        strategy_type: str | None = None,
        *,
        on_status: StatusCallback | None = None,
    ) -> Generator[list[Kpis], None, None]:
        """Yields the KPIs in scope (snapshot), then each batch of changed scopes."""
        request = ec.StreamKpisRequest(strategy_id=strategy_id or "", strategy_type=strategy_type or "")
        return self._stream(
            lambda: self.exchange_control.StreamKpis(request),
            lambda payload: [Kpis.from_proto(k) for k in payload.kpis],
            on_status,
        )

    # -- strategies ---------------------------------------------------------

    def strategies(
        self,
        type: str | None = None,
        status: StrategyStatus | str | None = None,
        mode: TradingMode | str | None = None,
    ) -> list[Strategy]:
        """Strategies by id, optionally filtered by type, status and mode."""
        request = sm.ListStrategiesRequest(
            type=type or "",
            status=_status_filter(StrategyStatus, status),
            mode=_status_filter(TradingMode, mode),
        )
        response = self._call(self.strategy_manager.ListStrategies, request)
        return [Strategy.from_proto(s) for s in response.strategies]

    def strategy(self, id: str) -> Strategy:
        """One strategy; NOT_FOUND when there is none with this id."""
        response = self._call(self.strategy_manager.GetStrategy, sm.GetStrategyRequest(id=id))
        return Strategy.from_proto(response.strategy)

    def create_strategy(
        self,
        id: str,
        type: str,
        pairs: Iterable[str],
        params: Mapping[str, Any] | None = None,
        starting_balance: DecimalLike | None = None,
        leverage: DecimalLike | None = None,
        start: bool = True,
        *,
        name: str | None = None,
        signal_secret: str | None = None,
        taker_fee_rate: DecimalLike | None = None,
        maker_fee_rate: DecimalLike | None = None,
    ) -> Strategy:
        """Creates a paper strategy and (``start``, the default) starts it.

        ``id``: 1-64 of ``a-z0-9_-`` (empty: the server picks one). ``type``:
        ``"sma_cross"``, ``"tradingview"``, ``"external"``, ...; ``params``
        values are sent as strings. Unset balance, leverage and fee rates take
        the server's defaults (10000 USDT, 1, BloFin's standard rates).
        ALREADY_EXISTS when the id is taken, INVALID_ARGUMENT for an unknown
        type, bad params or pairs.
        """
        strategy = sm.Strategy(
            id=id,
            name=name or "",
            type=type,
            pairs=_strs(pairs),
            params={str(k): str(v) for k, v in (params or {}).items()},
            starting_balance=decimal_to_proto(starting_balance),
            leverage=decimal_to_proto(leverage),
            taker_fee_rate=decimal_to_proto(taker_fee_rate),
            maker_fee_rate=decimal_to_proto(maker_fee_rate),
        )
        request = sm.CreateStrategyRequest(strategy=strategy, signal_secret=signal_secret or "", start=start)
        return Strategy.from_proto(self._call(self.strategy_manager.CreateStrategy, request).strategy)

    def start_strategy(self, id: str) -> Strategy:
        """Starts a strategy (a running one is returned as it is)."""
        response = self._call(self.strategy_manager.StartStrategy, sm.StartStrategyRequest(id=id))
        return Strategy.from_proto(response.strategy)

    def stop_strategy(self, id: str) -> Strategy:
        """Stops a strategy: it gets no ticks or signals and its orders are refused; positions stay."""
        response = self._call(self.strategy_manager.StopStrategy, sm.StopStrategyRequest(id=id))
        return Strategy.from_proto(response.strategy)

    def delete_strategy(self, id: str) -> None:
        """Deletes a stopped strategy without open positions or resting orders (its history stays)."""
        self._call(self.strategy_manager.DeleteStrategy, sm.DeleteStrategyRequest(id=id))

    def submit_signal(
        self,
        strategy_id: str,
        action: str,
        symbol: str,
        quantity: DecimalLike | None = None,
        price: DecimalLike | None = None,
        secret: str | None = None,
        client_order_id: str | None = None,
        comment: str | None = None,
    ) -> OrderResult:
        """Sends a signal (a TradingView alert) to a signal-driven strategy.

        ``action`` is ``"buy"``, ``"sell"`` or ``"close"``; ``quantity`` is
        required for buy and sell (for close, None closes everything);
        ``price`` makes a limit order; ``secret`` must match the strategy's
        signal secret when it has one.
        """
        request = sm.SubmitSignalRequest(
            strategy_id=strategy_id,
            action=action,
            symbol=symbol,
            quantity="" if quantity is None else decimal_to_str(quantity),
            price="" if price is None else decimal_to_str(price),
            secret=secret or "",
            client_order_id=client_order_id or "",
            comment=comment or "",
        )
        return OrderResult.from_proto(self._call(self.strategy_manager.SubmitSignal, request))

    # -- plumbing -----------------------------------------------------------

    def _call(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as e:
            raise XctlError.from_rpc_error(e) from None

    def _pages(
        self, method: Any, request: Any, field: str, convert: Callable[[Any], _T], limit: int | None
    ) -> list[_T]:
        if limit is not None and limit <= 0:
            return []
        out: list[_T] = []
        while True:
            want = _MAX_PAGE_SIZE if limit is None else min(_MAX_PAGE_SIZE, limit - len(out))
            request.page_size = want
            response = self._call(method, request)
            out.extend(convert(item) for item in getattr(response, field))
            if not response.next_page_token or (limit is not None and len(out) >= limit):
                return out if limit is None else out[:limit]
            request.page_token = response.next_page_token

    @staticmethod
    def _stream(
        start: Callable[[], Any],
        convert: Callable[[Any], list[_T]],
        on_status: StatusCallback | None,
    ) -> Generator[list[_T], None, None]:
        call = start()

        def iterate() -> Generator[list[_T], None, None]:
            try:
                for response in call:
                    kind = response.WhichOneof("payload")
                    if kind in ("snapshot", "update"):
                        yield convert(getattr(response, kind))
                    elif kind == "status" and on_status is not None:
                        on_status(StreamStatus.from_proto(response.status))
            except grpc.RpcError as e:
                raise XctlError.from_rpc_error(e) from None
            finally:
                call.cancel()

        return iterate()


class _ClientCallDetails(
    collections.namedtuple(
        "_ClientCallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    """The details of a call with changed metadata (grpc.ClientCallDetails is abstract)."""


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def __repr__(self) -> str:
        return "_BearerToken(***)"

    def _with_token(self, details: Any) -> Any:
        metadata = [m for m in (details.metadata or ()) if m[0].lower() != "authorization"]
        metadata.append(self._header)
        # wait_for_ready and compression are missing on old grpcio versions.
        return _ClientCallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return continuation(self._with_token(details), request_iterator)

    def intercept_stream_stream(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return continuation(self._with_token(details), request_iterator)


def _read_ca(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise OSError(e.errno, f"xctl_client: cannot read the CA file {os.fspath(path)!s}: {e.strerror}") from None


def _is_local(address: str) -> bool:
    """True for targets that never leave this machine: loopback hosts and Unix sockets."""
    target = address.strip()
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    for scheme in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if target.startswith(scheme):
            target = target[len(scheme) :]
            break
    if target.startswith("["):  # [::1]:50051
        host = target[1 : target.find("]")] if "]" in target else target[1:]
    elif target.count(":") == 1:  # host:port
        host = target.rsplit(":", 1)[0]
    else:  # a bare host, or a bare IPv6 address
        host = target
    host = host.lower().rstrip(".")
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _strs(values: Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        # "BTC-USDT,ETH-USDT" or a single pair; never iterate a string's characters.
        return [v.strip() for v in values.split(",") if v.strip()]
    return [str(v) for v in values]


def _status_filter(enum: type[_ProtoEnum], value: _ProtoEnum | str | None) -> str:
    """The proto enum name for a filter: None, "" and "all" match everything (UNSPECIFIED)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("all", "")):
        return enum.parse("unspecified").proto_name
    return enum.parse(value).proto_name
