"""pytest: the fake's private WebSocket (fake_ws_private.py) against BloFin's
docs (index.md, "WebSocket" > "WebSocket Authentication"; "WS Order
Channel", "WS Positions Channel", "WS Account Channel"). Real sockets on
127.0.0.1; needs PyPI's websockets (the repository's .venv)."""
import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from test_fake_ws import docs_example, post, run, server, stats  # noqa: F401 (fixture)

KEY, SECRET, PHRASE = "wskey", "wssecret", "wsphrase"


@pytest.fixture
def fake(server):  # noqa: F811
    post(server, "reset", {})
    post(server, "limits", {"ip": None, "ip_long": None})
    post(server, "ws", {"connect_interval_ms": 0})
    post(server, "accounts", {"apiKey": KEY, "secret": SECRET, "passphrase": PHRASE,
                              "balance": "10000"})
    post(server, "tickers", {"BTC-USDT": {"bid": "64000", "ask": "64001", "last": "64000"}})
    return {**server, "private": server["ws"].replace("/ws/public", "/ws/private")}


def login_request(secret=SECRET, ts=None):
    """index.md, "Signature Generation": the docs' Python example, as written."""
    timestamp = ts or str(int(time.time() * 1000))
    nonce = timestamp
    msg = f"/users/self/verifyGET{timestamp}{nonce}"
    sign = base64.b64encode(hmac.new(secret.encode(), msg.encode(),
                                     hashlib.sha256).hexdigest().encode()).decode()
    return json.dumps({"op": "login", "args": [{"apiKey": KEY, "passphrase": PHRASE,
                                                "timestamp": timestamp, "sign": sign,
                                                "nonce": nonce}]})


def rest(fake, method, path, body):
    """A signed private REST request (index.md, "REST Authentication")."""
    ts, nonce, text = str(int(time.time() * 1000)), f"n{time.time_ns()}", json.dumps(body)
    sign = base64.b64encode(hmac.new(SECRET.encode(), (path + method + ts + nonce + text).encode(),
                                     hashlib.sha256).hexdigest().encode()).decode()
    req = urllib.request.Request(fake["http"] + path, data=text.encode(), method=method, headers={
        "ACCESS-KEY": KEY, "ACCESS-SIGN": sign, "ACCESS-TIMESTAMP": ts, "ACCESS-NONCE": nonce,
        "ACCESS-PASSPHRASE": PHRASE, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def place(fake, price="63000", size="1", cid="ws1"):
    answer = rest(fake, "POST", "/api/v1/trade/order", {
        "instId": "BTC-USDT", "marginMode": "cross", "positionSide": "net", "side": "buy",
        "orderType": "limit", "price": price, "size": size, "clientOrderId": cid})
    return answer["data"][0]["orderId"]


async def logged_in(ws, channels=("orders", "positions", "account")):
    await ws.send(login_request())
    assert json.loads(await ws.recv()) == {"event": "login", "code": "0", "msg": ""}
    await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": c} for c in channels]}))
    return [json.loads(await ws.recv()) for _ in channels]


async def next_push(ws, channel, timeout=5):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if m.get("arg", {}).get("channel") == channel and "data" in m:
            return m


def test_login_signed_as_documented_is_accepted_in_the_docs_shape(fake):
    async def go():
        async with connect(fake["private"]) as ws:
            await ws.send(login_request())
            return json.loads(await ws.recv())
    assert run(go()) == docs_example("WebSocket Authentication", "Successful Response Example:")


@pytest.mark.parametrize("request_text", [
    login_request(secret="wrong"), login_request(ts="1597026383085"), '{"op":"login"}'])
def test_a_bad_login_is_refused_with_the_documented_error(fake, request_text):
    async def go():
        async with connect(fake["private"]) as ws:
            await ws.send(request_text)
            return json.loads(await ws.recv())
    assert run(go()) == docs_example("WebSocket Authentication", "Failure Response Example:")
    assert stats(fake)["private"]["login_refused"] == 1


def test_refuse_login_fault_refuses_a_good_login_once(fake):
    post(fake, "ws", {"refuse_login": 1})

    async def go():
        async with connect(fake["private"]) as ws:
            await ws.send(login_request())
            first = json.loads(await ws.recv())
            await ws.send(login_request())
            return first, json.loads(await ws.recv())
    first, second = run(go())
    assert first["code"] == "60009" and second == {"event": "login", "code": "0", "msg": ""}


def test_subscribe_needs_login_and_is_acknowledged_per_channel(fake):
    async def go():
        async with connect(fake["private"]) as ws:
            await ws.send(json.dumps({"op": "subscribe", "args": [{"channel": "orders"}]}))
            refused = json.loads(await ws.recv())
            acks = await logged_in(ws)
            return refused, acks, stats(fake)["private"]["subscribed"]
    refused, acks, subscribed = run(go())
    assert refused["event"] == "error" and refused["code"] == "60012"
    assert acks[0] == docs_example("WS Order Channel", "Response Example:\n")
    assert acks[1] == docs_example("WS Positions Channel", "Response Example:\n")
    assert acks[2] == docs_example("WS Account Channel", "Response Example:\n")
    assert subscribed == {"orders": 1, "positions": 1, "account": 1}


def test_placement_fill_and_cancel_are_pushed_with_the_documented_fields(fake):
    example = docs_example("WS Order Channel", "Push Data Example:")

    async def go():
        async with connect(fake["private"]) as ws:
            await logged_in(ws)
            oid = place(fake)
            placed = await next_push(ws, "orders")
            await next_push(ws, "account")  # the order's margin is frozen
            post(fake, "tickers", {"BTC-USDT": {"bid": "62990", "ask": "62999", "last": "63000"}})
            filled = await next_push(ws, "orders")
            position = await next_push(ws, "positions")
            account = await next_push(ws, "account")
            oid2 = place(fake, price="60000", cid="ws2")
            await next_push(ws, "orders")
            rest(fake, "POST", "/api/v1/trade/cancel-order", {"instId": "BTC-USDT",
                                                              "orderId": oid2})
            canceled = await next_push(ws, "orders")
            return oid, placed, filled, position, account, canceled
    oid, placed, filled, position, account, canceled = run(go())
    assert set(placed) == set(example) and placed["arg"] == {"channel": "orders"}
    assert set(placed["data"][0]) == set(example["data"][0])
    assert (placed["data"][0]["orderId"], placed["data"][0]["state"],
            placed["data"][0]["clientOrderId"]) == (oid, "live", "ws1")
    assert (filled["data"][0]["state"], filled["data"][0]["filledSize"]) == (
        "filled", "1.000000000000000000")
    pos_example = docs_example("WS Positions Channel", "Push Data Example:")
    assert position["arg"] == pos_example["arg"]
    assert set(pos_example["data"][0]) <= set(position["data"][0]) | {"margin"}
    assert position["data"][0]["positions"] == "1"
    assert account["arg"] == {"channel": "account"}
    assert {"ts", "totalEquity", "isolatedEquity", "details"} <= set(account["data"])
    assert account["data"]["details"][0]["currency"] == "USDT"
    assert canceled["data"][0]["state"] == "canceled"


def test_duplicate_and_drop_faults(fake):
    post(fake, "ws", {"duplicate_pushes": True})

    async def go():
        async with connect(fake["private"]) as ws:
            await logged_in(ws, channels=("orders",))
            place(fake)
            first, second = await next_push(ws, "orders"), await next_push(ws, "orders")
            post(fake, "ws", {"drop": True})
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return first, second
    first, second = run(go())
    assert first == second


def test_pushes_go_only_to_the_accounts_own_subscribed_connections(fake):
    post(fake, "accounts", {"apiKey": "other", "secret": "s", "passphrase": "p"})

    async def go():
        async with connect(fake["private"]) as ws, connect(fake["private"]) as quiet:
            await logged_in(ws, channels=("orders",))
            await quiet.send(login_request())
            await quiet.recv()  # logged in, nothing subscribed
            place(fake)
            await next_push(ws, "orders")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(quiet.recv(), 0.3)
    run(go())
