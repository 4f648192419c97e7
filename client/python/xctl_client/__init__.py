"""Typed Python client for xctld, the xctl trading server.

``Client`` wraps the three gRPC services of ``proto/xctl/v1`` (PriceFeed,
ExchangeControl, StrategyManager) with plain Python values: dataclasses and
string enums from ``xctl_client.types``, ``decimal.Decimal`` for every price,
quantity and amount, and ``XctlError`` (status code name and message) for
every refused or failed call. The gRPC stubs are generated from the protos at
build time into ``xctl_client._gen``; ``xctl_client.pb`` exposes them.

    >>> from xctl_client import Client
    >>> with Client("127.0.0.1:50051") as xctl:          # doctest: +SKIP
    ...     print(xctl.prices()["BTC-USDT"].last)
"""

from xctl_client.client import DEFAULT_ADDRESS, Client, InsecureTokenWarning
from xctl_client.errors import (
    AlreadyExists,
    ExchangeRejectedError,
    FailedPrecondition,
    InsufficientMarginError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PriceStaleError,
    ResourceExhausted,
    StrategyNotRunningError,
    Unauthenticated,
    Unavailable,
    XctlError,
)
from xctl_client.types import (
    Balance,
    CloseResult,
    DecimalLike,
    Exposure,
    Fill,
    Instrument,
    KpiReport,
    Kpis,
    Order,
    OrderResult,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    PositionStatus,
    Side,
    Strategy,
    StrategyStatus,
    StreamStatus,
    Tick,
    TradingMode,
    TriggerOrder,
)

__version__ = "0.1.0"
"""Version of the xctl-client package."""

__all__ = [
    "DEFAULT_ADDRESS",
    "Balance",
    "Client",
    "CloseResult",
    "DecimalLike",
    "Exposure",
    "Fill",
    "InsecureTokenWarning",
    "Instrument",
    "KpiReport",
    "Kpis",
    "Order",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionSide",
    "PositionStatus",
    "Side",
    "Strategy",
    "StrategyStatus",
    "StreamStatus",
    "Tick",
    "TradingMode",
    "TriggerOrder",
    "XctlError",
    "AlreadyExists",
    "ExchangeRejectedError",
    "FailedPrecondition",
    "InsufficientMarginError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "PriceStaleError",
    "ResourceExhausted",
    "StrategyNotRunningError",
    "Unauthenticated",
    "Unavailable",
]
