"""pytest: the fake's public WebSocket (fake_ws.py) against BloFin's docs
(index.md, "WebSocket" > "Subscribe", "Unsubscribe", "WS Tickers Channel";
"Rate Limits" > "WebSocket Connection Management"). Real sockets on
127.0.0.1; needs PyPI's websockets (the repository's .venv)."""
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.environ.get("BLOFIN_DOCS_DIR",
                      os.path.join(HERE, "..", "..", "..", "shared", "blofin"))


def wait_file(path, limit=20):
    end = time.time() + limit
    while time.time() < end:
        if os.path.exists(path):
            return open(path).read().strip()
        time.sleep(0.02)
    raise RuntimeError(f"{path} did not appear")


@pytest.fixture(scope="module")
def server():
    d = tempfile.mkdtemp(prefix="fake-ws-")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_blofin.py"),
                             "--port-file", f"{d}/port", "--ws-port-file", f"{d}/ws"])
    try:
        yield {"http": f"http://127.0.0.1:{wait_file(f'{d}/port')}",
               "ws": f"ws://127.0.0.1:{wait_file(f'{d}/ws')}/ws/public"}
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def fake(server):
    post(server, "reset", {})
    post(server, "ws", {"push_interval_ms": 0, "connect_interval_ms": 0})
    return server


def post(server, what, body):
    req = urllib.request.Request(f"{server['http']}/_control/{what}",
                                 data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def stats(server):
    with urllib.request.urlopen(f"{server['http']}/_control/ws") as r:
        return json.loads(r.read())


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 15))


def sub(inst="BTC-USDT", op="subscribe"):
    return json.dumps({"op": op, "args": [{"channel": "tickers", "instId": inst}]})


async def subscribed(ws, inst="BTC-USDT"):
    """Subscribes `ws` to the tickers of `inst` and returns the answer."""
    await ws.send(sub(inst))
    return json.loads(await ws.recv())


def docs_example(heading, label):
    """The JSON after `> <label>` under `### <heading>` of index.md."""
    text = open(os.path.join(DOCS, "index.md")).read()
    section = text.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
    block = section.split(f"> {label}", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", block, re.S).group(1))


def test_subscribe_is_acknowledged_in_the_docs_shape(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            return await subscribed(ws)
    answer = run(go())
    assert answer == docs_example("WS Tickers Channel", "Response Example:")
    assert answer == {"event": "subscribe", "arg": {"channel": "tickers", "instId": "BTC-USDT"}}


def test_a_changed_ticker_is_pushed_with_the_documented_fields(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            await subscribed(ws)
            post(fake, "tickers", {"BTC-USDT": {"bid": "65000", "ask": "65001", "last": "65000.5"},
                                   "ETH-USDT": {"last": "3200.05", "bid": "3200",
                                                "ask": "3200.1"}})
            return json.loads(await ws.recv())
    push = run(go())
    example = docs_example("WS Tickers Channel", "Push Data Example:")
    assert push["arg"] == {"channel": "tickers", "instId": "BTC-USDT"}
    assert set(push["data"][0]) == set(example["data"][0])
    assert all(isinstance(v, str) for v in push["data"][0].values())
    assert (push["data"][0]["bidPrice"], push["data"][0]["askPrice"],
            push["data"][0]["last"]) == ("65000", "65001", "65000.5")


def test_only_subscribed_and_changed_pairs_are_pushed_and_none_on_subscribe(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            await subscribed(ws, "ETH-USDT")
            with pytest.raises(asyncio.TimeoutError):  # docs silent: no push on subscribe
                await asyncio.wait_for(ws.recv(), 0.3)
            post(fake, "tickers", {"BTC-USDT": {"last": "1"}, "ETH-USDT": {"last": "2"}})
            first = json.loads(await ws.recv())
            post(fake, "tickers", {"BTC-USDT": {"last": "3"}, "ETH-USDT": {"last": "2"}})
            with pytest.raises(asyncio.TimeoutError):  # ETH unchanged, BTC not subscribed
                await asyncio.wait_for(ws.recv(), 0.3)
            return first
    assert run(go())["arg"]["instId"] == "ETH-USDT"


def test_pushes_are_at_most_one_a_second_by_default_the_latest_last(server):
    post(server, "reset", {})
    post(server, "ws", {"connect_interval_ms": 0})

    async def go():
        async with connect(server["ws"]) as ws:
            await subscribed(ws)
            post(server, "tickers", {"BTC-USDT": {"last": "10"}})
            t0 = time.monotonic()
            first = json.loads(await ws.recv())
            post(server, "tickers", {"BTC-USDT": {"last": "11"}})
            post(server, "tickers", {"BTC-USDT": {"last": "12"}})
            second = json.loads(await ws.recv())
            return first, second, time.monotonic() - t0
    first, second, gap = run(go())
    assert first["data"][0]["last"] == "10"
    assert second["data"][0]["last"] == "12"  # 11 was never pushed
    assert gap >= 0.9  # index.md: "the fastest interval 1 second"


def test_ping_is_answered_pong_and_unsubscribe_acknowledged(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            await ws.send("ping")
            pong = await ws.recv()
            await subscribed(ws)
            await ws.send(sub(op="unsubscribe"))
            return pong, json.loads(await ws.recv())
    pong, unsub = run(go())
    assert pong == "pong"
    assert unsub == {"event": "unsubscribe", "arg": {"channel": "tickers", "instId": "BTC-USDT"}}
    assert stats(fake)["pings"] == 1


@pytest.mark.parametrize("request_text", [
    "not json",
    json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}),
    json.dumps({"op": "subscribe", "args": [{"channel": "tickers", "instId": "NOPE-USDT"}]}),
    json.dumps({"op": "login", "args": []}),
    json.dumps({"op": "subscribe",
                "args": [{"channel": "tickers", "instId": "BTC-USDT"}] * 200}),  # > 4,096 bytes
])
def test_a_bad_request_is_the_documented_error(fake, request_text):
    async def go():
        async with connect(fake["ws"]) as ws:
            await ws.send(request_text)
            return json.loads(await ws.recv())
    answer = run(go())
    example = docs_example("WS Tickers Channel", "Failure Response Example:")
    assert set(answer) == set(example)
    assert answer["event"] == "error" and answer["code"] == "60012"
    assert answer["msg"] == f"Invalid request: {request_text}"


def test_drop_closes_every_connection(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            await subscribed(ws)
            post(fake, "ws", {"drop": True})
            with pytest.raises(ConnectionClosed):
                await ws.recv()
    run(go())


def test_stall_stops_pongs_and_pushes_until_lifted(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            await subscribed(ws)
            post(fake, "ws", {"stall": True})
            await ws.send("ping")
            post(fake, "tickers", {"BTC-USDT": {"last": "5"}})
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
            post(fake, "ws", {"stall": False})
            await ws.send("ping")
            return await ws.recv()
    assert run(go()) == "pong"


def test_malformed_sends_the_text_as_a_frame(fake):
    async def go():
        async with connect(fake["ws"]) as ws:
            post(fake, "ws", {"malformed": "{\"arg\":"})
            return await ws.recv()
    assert run(go()) == "{\"arg\":"


def test_idle_connections_are_closed(fake):
    post(fake, "ws", {"idle_timeout_ms": 200})  # index.md: 30 s

    async def go():
        async with connect(fake["ws"]) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
    run(go())


def test_one_new_connection_a_second(fake):
    post(fake, "ws", {"connect_interval_ms": 1000})  # index.md, Connection Limits

    async def go():
        async with connect(fake["ws"]):
            pass
        with pytest.raises(InvalidStatus) as refused:
            async with connect(fake["ws"]):
                pass
        return refused.value.response.status_code
    assert run(go()) == 429
    assert stats(fake)["refused"] == 1


def test_other_paths_are_not_found(fake):
    async def go():
        with pytest.raises(InvalidStatus) as e:
            async with connect(fake["ws"].replace("/ws/public", "/ws/other")):
                pass
        return e.value.response.status_code
    assert run(go()) == 404
