"""xctld's errors arrive as typed exceptions with their stable reason and details
(docs/api.md, "Error reasons"; client/python/xctl_client/errors.py)."""

from __future__ import annotations

import secrets

import pytest
from xctl_client import (
    Client,
    FailedPrecondition,
    InsufficientMarginError,
    InvalidArgument,
    NotFound,
    StrategyNotRunningError,
    XctlError,
)


def _strategy(client: Client, **kwargs: object) -> str:
    sid = "err-" + secrets.token_hex(4)
    client.create_strategy(sid, "external", ["BTC-USDT"], **kwargs)  # type: ignore[arg-type]
    return sid


def test_a_malformed_request_is_invalid_argument_naming_the_field(client: Client) -> None:
    sid = _strategy(client)
    with pytest.raises(InvalidArgument) as refused:
        client.place_order(sid, "BTC-USDT", "buy", "-1")
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.reason == "INVALID_ARGUMENT"
    assert "quantity" in refused.value.field_violations


def test_an_unknown_strategy_is_not_found_with_its_reason(client: Client) -> None:
    with pytest.raises(NotFound) as refused:
        client.place_order("nobody-" + secrets.token_hex(3), "BTC-USDT", "buy", "1")
    assert refused.value.reason == "STRATEGY_NOT_FOUND"
    assert isinstance(refused.value, XctlError)


def test_not_enough_margin_is_its_own_exception(client: Client) -> None:
    sid = _strategy(client, starting_balance="10", leverage="1")
    with pytest.raises(InsufficientMarginError) as refused:
        client.place_order(sid, "BTC-USDT", "buy", "5")
    assert isinstance(refused.value, FailedPrecondition)
    assert refused.value.reason == "INSUFFICIENT_MARGIN"
    assert "insufficient margin" in refused.value.message


def test_a_stopped_strategy_says_so(client: Client) -> None:
    sid = _strategy(client, start=False)
    with pytest.raises(StrategyNotRunningError) as refused:
        client.place_order(sid, "BTC-USDT", "buy", "1")
    assert refused.value.reason == "STRATEGY_NOT_RUNNING"
