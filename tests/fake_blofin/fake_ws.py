"""BloFin's public WebSocket for the fake (index.md, "WebSocket"): the
`tickers` channel on `/ws/public`, over a real socket on 127.0.0.1, framed by
the `websockets` library (PyPI). Runs an asyncio loop on a thread of its own
beside the HTTP server; the HTTP side calls `on_tickers` after every
`POST /_control/tickers` and `control` for `/_control/ws`.

What the docs say, and the fake does:
- subscribe / unsubscribe `{"op": ..., "args": [{"channel": "tickers",
  "instId": ...}]}` answered per arg `{"event": "subscribe"|"unsubscribe",
  "arg": {...}}` (index.md, "Subscribe", "Unsubscribe", "WS Tickers Channel");
  a bad request `{"event": "error", "code": "60012", "msg": "Invalid request:
  <request>"}` (the tickers channel's failure example), also when the args
  are longer than 4,096 bytes ("Subscribe").
- pushes `{"arg": {...}, "data": [{ticker}]}` with every field of the push
  example, when a subscribed ticker changes, at most once per
  `push_interval_ms` per pair and connection ("the fastest interval 1 second":
  default 1000; changes in between are pushed together, the latest).
- the text 'ping' is answered 'pong' ("WebSocket Connection Management").
- a connection without a subscription, or to which nothing was sent, for
  `idle_timeout_ms` (default 30000) is closed ("Connection Limits").
- new connections: one a second per IP (`connect_interval_ms`, default
  1000); a faster one is refused with HTTP 429 (docs silent on how).
Where the docs are silent: no push on subscribe (a client must take a REST
snapshot), no protocol-level pings from the server.

Faults (`POST /_control/ws`): `{"drop": true}` closes every connection
(TCP close, no close frame); `{"stall": true}` stops pushing and answering
anything until `{"stall": false}`; `{"malformed": "<text>"}` sends that text
as a frame to every connection. Settings in the same body:
`push_interval_ms`, `idle_timeout_ms`, `connect_interval_ms`.
`GET /_control/ws`: `{"connections", "connects", "refused", "subscribed":
{instId: n}, "pings", "pushes", "received": [last 100 texts]}`.
"""
import asyncio
import collections
import json
import threading
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

CHANNEL = "tickers"
MAX_ARGS_BYTES = 4096
DEFAULT_WS_SETTINGS = {"push_interval_ms": 1000, "idle_timeout_ms": 30_000,
                       "connect_interval_ms": 1000}


def now_ms():
    return int(time.time() * 1000)


def ticker_push(inst, t):
    """index.md, WS Tickers Channel, "Push Data Example": every field."""
    return json.dumps({"arg": {"channel": CHANNEL, "instId": inst}, "data": [{
        "instId": inst, "last": t["last"], "lastSize": t["lastSize"],
        "askPrice": t["ask"], "askSize": t["askSize"], "bidPrice": t["bid"],
        "bidSize": t["bidSize"], "open24h": t["last"], "high24h": t["last"],
        "low24h": t["last"], "volCurrency24h": "100", "vol24h": "100000",
        "ts": str(now_ms())}]})


class Conn:
    def __init__(self, ws):
        self.ws = ws
        self.subs = set()
        self.last_push = {}  # instId -> monotonic s
        self.pending = set()  # instIds with a delayed push scheduled
        self.last_sent = time.monotonic()
        self.private = False  # a /ws/private connection (fake_ws_private.py)
        self.account = None  # its apiKey once logged in


class PublicWs:
    def __init__(self, state, private=None):
        self.state = state  # the HTTP side's State: tickers, instruments, lock
        self.private = private  # fake_ws_private.PrivateWs serving /ws/private, or None
        if private is not None:
            private.public = self
        self.loop = None
        self.port = None
        self.reset()

    def reset(self):
        self.settings = dict(DEFAULT_WS_SETTINGS)
        self.stalled = False
        self.connects = 0
        self.refused = 0
        self.pings = 0
        self.pushes = 0
        self.received = collections.deque(maxlen=100)
        self.last_connect = {}  # ip -> monotonic s

    # ------------------------------------------------------------ threads
    def start(self, port=0):
        ready = threading.Event()
        threading.Thread(target=self._run, args=(port, ready), daemon=True).start()
        ready.wait(10)
        return self.port

    def _run(self, port, ready):
        self.loop = asyncio.new_event_loop()
        self.conns = set()

        async def main():
            async with serve(self.handler, "127.0.0.1", port, ping_interval=None,
                             process_request=self.process_request) as server:
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await asyncio.Future()

        self.loop.run_until_complete(main())

    def call(self, fn, *args):
        """Runs fn(*args) on the loop and returns its result (HTTP threads)."""
        return asyncio.run_coroutine_threadsafe(fn(*args), self.loop).result(10)

    # ------------------------------------------------------------ server
    def process_request(self, connection, request):
        if request.path != "/ws/public" and (
                request.path != "/ws/private" or self.private is None):
            return connection.respond(404, "not found\n")
        ip = connection.remote_address[0]
        now = time.monotonic()
        last = self.last_connect.get(ip)
        self.last_connect[ip] = now
        if last is not None and now - last < self.settings["connect_interval_ms"] / 1000:
            self.refused += 1  # index.md, Connection Limits: 1 a second per IP
            return connection.respond(429, "Too Many Requests\n")
        return None

    async def handler(self, ws):
        conn = Conn(ws)
        conn.private = ws.request.path == "/ws/private"
        self.conns.add(conn)
        self.connects += 1
        idle = asyncio.ensure_future(self.idle_watch(conn))
        try:
            async for message in ws:
                if self.stalled:
                    continue
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self.received.append(text)
                if text == "ping":
                    self.pings += 1
                    await self.send(conn, "pong")
                    continue
                if conn.private:
                    await self.private.request(conn, text)
                else:
                    await self.request(conn, text)
        except ConnectionClosed:
            pass
        finally:
            idle.cancel()
            self.conns.discard(conn)

    async def idle_watch(self, conn):
        """index.md, Connection Limits: closed when nothing was subscribed or
        sent for idle_timeout_ms."""
        while True:
            await asyncio.sleep(0.05)
            limit = self.settings["idle_timeout_ms"] / 1000
            if time.monotonic() - conn.last_sent > limit:
                conn.ws.transport.abort()
                return

    async def send(self, conn, text):
        conn.last_sent = time.monotonic()
        try:
            await conn.ws.send(text)
        except ConnectionClosed:
            pass

    async def request(self, conn, text):
        def invalid():
            return json.dumps({"event": "error", "code": "60012",
                               "msg": f"Invalid request: {text}"})
        try:
            req = json.loads(text)
        except ValueError:
            return await self.send(conn, invalid())
        args = req.get("args") if isinstance(req, dict) else None
        op = req.get("op") if isinstance(req, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args \
                or len(json.dumps(args, separators=(",", ":"))) > MAX_ARGS_BYTES:
            return await self.send(conn, invalid())
        with self.state.lock:
            known = set(self.state.instruments)
        for arg in args:
            if not isinstance(arg, dict) or arg.get("channel") != CHANNEL or \
                    arg.get("instId") not in known:
                return await self.send(conn, invalid())
        for arg in args:
            inst = arg["instId"]
            if op == "subscribe":
                conn.subs.add(inst)
            else:
                conn.subs.discard(inst)
            await self.send(conn, json.dumps({"event": op,
                                              "arg": {"channel": CHANNEL, "instId": inst}}))

    # ------------------------------------------------------------ pushes
    def on_tickers(self, changed):
        """After POST /_control/tickers: the instIds whose ticker changed."""
        if self.loop is not None and changed:
            asyncio.run_coroutine_threadsafe(self.push_changed(set(changed)), self.loop)

    async def push_changed(self, insts):
        for conn in list(self.conns):
            for inst in insts & conn.subs:
                await self.push(conn, inst)

    async def push(self, conn, inst):
        if self.stalled or inst not in conn.subs:
            return
        now = time.monotonic()
        wait = conn.last_push.get(inst, -1e9) + self.settings["push_interval_ms"] / 1000 - now
        if wait > 0:  # the fastest interval: push the latest once it has passed
            if inst not in conn.pending:
                conn.pending.add(inst)
                self.loop.call_later(wait, lambda: asyncio.ensure_future(
                    self.delayed_push(conn, inst)))
            return
        with self.state.lock:
            t = self.state.tickers.get(inst)
        if t is None:
            return
        conn.last_push[inst] = now
        self.pushes += 1
        await self.send(conn, ticker_push(inst, t))

    async def delayed_push(self, conn, inst):
        conn.pending.discard(inst)
        if conn in self.conns:
            await self.push(conn, inst)

    # ------------------------------------------------------------ control
    def control(self, method, req):
        """(status, json) of /_control/ws."""
        if method == "GET":
            return 200, self.call(self._stats)
        for key in req:
            private_keys = self.private.CONTROL_KEYS if self.private else ()
            if key not in DEFAULT_WS_SETTINGS and key not in ("drop", "stall", "malformed") \
                    and key not in private_keys:
                return 400, {"error": f"/_control/ws: unknown key {key!r}"}
        for key in DEFAULT_WS_SETTINGS:
            if key in req and (not isinstance(req[key], int) or req[key] < 0):
                return 400, {"error": f"/_control/ws: {key} must be an integer >= 0"}
        self.call(self._control, req)
        return 200, {"ok": True}

    async def _stats(self):
        public = [c for c in self.conns if not c.private]
        subscribed = collections.Counter(i for c in public for i in c.subs)
        out = {"connections": len(self.conns), "connects": self.connects,
               "refused": self.refused, "subscribed": dict(subscribed), "pings": self.pings,
               "pushes": self.pushes, "received": list(self.received)}
        if self.private is not None:
            out["private"] = self.private.stats([c for c in self.conns if c.private])
        return out

    async def _control(self, req):
        for key in DEFAULT_WS_SETTINGS:
            if key in req:
                self.settings[key] = req[key]
        if "stall" in req:
            self.stalled = bool(req["stall"])
        if self.private is not None:
            self.private.control(req)
        if "malformed" in req:
            for conn in list(self.conns):
                await self.send(conn, str(req["malformed"]))
        if req.get("drop"):
            for conn in list(self.conns):
                conn.ws.transport.abort()

    async def _reset(self):
        for conn in list(self.conns):
            conn.ws.transport.abort()
        self.reset()
        if self.private is not None:
            self.private.reset()

    def reset_all(self):
        if self.loop is not None:
            self.call(self._reset)
