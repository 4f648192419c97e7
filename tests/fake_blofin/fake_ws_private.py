"""BloFin's private WebSocket for the fake (index.md, "WebSocket" >
"WebSocket Authentication"; "WS Order Channel", "WS Positions Channel",
"WS Account Channel"): `/ws/private` on the same server as `/ws/public`
(fake_ws.py, PyPI `websockets`), over a real socket on 127.0.0.1.

What the docs say, and the fake does:
- login `{"op": "login", "args": [{"apiKey", "passphrase", "timestamp",
  "sign", "nonce"}]}`, sign = Base64(hex(HMAC-SHA256(secret,
  "/users/self/verify" + "GET" + timestamp + nonce))) ("Signature
  Generation"), checked with the REST side's `signature` (fake_trading.py);
  the timestamp within 60 s ("The request will expire 1 minute after the
  timestamp"). Answer `{"event": "login", "code": "0", "msg": ""}`, or the
  failure example `{"event": "error", "code": "60009", "msg": "Login
  failed."}`.
- subscribe `{"op": "subscribe", "args": [{"channel": "orders" |
  "positions" | "account", "instId"?}]}` after login, acknowledged per arg
  `{"event": "subscribe", "arg": {...}}`; otherwise (not logged in, another
  channel) the failure example `{"event": "error", "code": "60012", "msg":
  "Invalid request: <request>"}`.
- pushes `{"arg": {"channel": ...}, "data": ...}` when the account's trading
  state changes (placement, fills on `POST /_control/tickers`, cancel): the
  orders push (with `"action": "snapshot"` as in its example) carries every
  changed order with the example's fields; positions every changed
  position (a position that is gone: `"positions": "0"`, docs silent);
  account one object with the USDT line. "Data will not be pushed when
  first subscribed" for orders; the docs promise an initial positions
  snapshot, the fake sends none (least convenient: the client reconciles
  over REST). Pushes go out as soon as the change is made, so one may reach
  the client before the REST answer of the request that caused it.
- 'ping' answered 'pong'; idle connections closed as on /ws/public.

Faults and settings (`POST /_control/ws`, beside the public ones, which act
on private connections too: drop, stall, malformed): `{"refuse_login": n}`
refuses the next n logins with 60009 even when signed right;
`{"duplicate_pushes": true}` sends every push twice. `GET /_control/ws` adds
`"private": {"logins", "login_refused", "subscribed": {channel: n},
"pushes"}`.
"""
import asyncio
import hmac
import json

from fake_trading import TIMESTAMP_WINDOW_MS, now_ms, signature

CHANNELS = ("orders", "positions", "account")
LOGIN_PATH, LOGIN_METHOD = "/users/self/verify", "GET"
# "WS Order Channel", "Push Data Example": the fields, in its order.
ORDER_FIELDS = ("instId", "orderId", "clientOrderId", "price", "size", "orderType", "side",
                "positionSide", "marginMode", "filledSize", "averagePrice", "state",
                "leverage", "tpTriggerPrice", "tpOrderPrice", "slTriggerPrice",
                "slOrderPrice", "fee", "pnl", "cancelSource", "orderCategory", "createTime",
                "updateTime", "reduceOnly", "brokerId")


def error(code, msg):
    return json.dumps({"event": "error", "code": code, "msg": msg})


class PrivateWs:
    def __init__(self, state, trading):
        self.state, self.trading = state, trading  # state.lock guards both
        self.public = None  # fake_ws.PublicWs: its loop, connections and send
        self.reset()

    def reset(self):
        self.refuse_login = 0
        self.duplicate = False
        self.logins = 0
        self.login_refused = 0
        self.pushes = 0
        self.last = {}  # apiKey -> {"orders": {id: json}, "positions": {key: json}, "account": json}

    # ---------------------------------------------------------- requests
    async def request(self, conn, text):
        """One text from a /ws/private connection (not 'ping')."""
        try:
            req = json.loads(text)
        except ValueError:
            req = None
        op = req.get("op") if isinstance(req, dict) else None
        args = req.get("args") if isinstance(req, dict) else None
        if op == "login":
            return await self.login(conn, args)
        if op in ("subscribe", "unsubscribe") and conn.account is not None and \
                isinstance(args, list) and args and all(
                    isinstance(a, dict) and a.get("channel") in CHANNELS for a in args):
            for arg in args:
                if op == "subscribe":
                    conn.subs.add(arg["channel"])
                else:
                    conn.subs.discard(arg["channel"])
                await self.public.send(conn, json.dumps({"event": op, "arg": arg}))
            return None
        return await self.public.send(conn, error("60012", f"Invalid request: {text}"))

    async def login(self, conn, args):
        arg = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
        fields = [arg.get(k) for k in ("apiKey", "passphrase", "timestamp", "sign", "nonce")]
        ok = all(isinstance(v, str) and v for v in fields)
        if ok:
            key, phrase, ts, sign, nonce = fields
            with self.state.lock:
                acct = self.trading.accounts.get(key)
            ok = acct is not None and ts.isdigit() and \
                abs(int(ts) - now_ms()) <= TIMESTAMP_WINDOW_MS and \
                hmac.compare_digest(phrase.encode(), acct.passphrase.encode()) and \
                hmac.compare_digest(sign.encode(), signature(
                    acct.secret, LOGIN_PATH + LOGIN_METHOD + ts + nonce).encode())
        if ok and self.refuse_login > 0:
            self.refuse_login -= 1
            ok = False
        if not ok:
            self.login_refused += 1
            return await self.public.send(conn, error("60009", "Login failed."))
        self.logins += 1
        conn.account = key
        await self.public.send(conn, json.dumps({"event": "login", "code": "0", "msg": ""}))

    # ---------------------------------------------------------- pushes
    def notify(self):
        with self.state.lock:
            self.notify_locked()

    def notify_locked(self):
        """After anything that may change trading state (a private REST
        request, POST /_control/tickers): pushes what changed, per account."""
        if self.public is None or self.public.loop is None:
            return
        messages = []  # (apiKey, channel, text)
        for key, acct in self.trading.accounts.items():
            messages += [(key, ch, text) for ch, text in self.changes_locked(key, acct)]
        if messages:
            asyncio.run_coroutine_threadsafe(self.push(messages), self.public.loop)

    def changes_locked(self, key, acct):
        last = self.last.setdefault(key, {"orders": {}, "positions": {}, "account": None})
        orders = {}
        for o in acct.orders.values():
            j = self.trading.order_json_locked(o, ORDER_FIELDS + ("filled_amount",))
            j["clientOrderId"] = j["clientOrderId"] or None  # the example's null
            j["filledAmount"] = j.pop("filled_amount")
            orders[o["orderId"]] = {"instType": "SWAP", **j, "tpTriggerPriceType": "last",
                                    "slTriggerPriceType": "last"}
        changed = [j for i, j in orders.items() if last["orders"].get(i) != j]
        last["orders"] = orders
        if changed:
            yield "orders", json.dumps({"action": "snapshot", "arg": {"channel": "orders"},
                                        "data": changed})
        positions = {p["positionId"]: self.trading.position_json_locked(acct, p)
                     for p in acct.positions.values()}
        moved = [j for i, j in positions.items() if _stable(last["positions"].get(i)) !=
                 _stable(j)]
        for i, j in last["positions"].items():
            if i not in positions:
                moved.append({**j, "positions": "0", "availablePositions": "0",
                              "updateTime": str(now_ms())})
        last["positions"] = positions
        if moved:
            yield "positions", json.dumps({"arg": {"channel": "positions"}, "data": moved})
        account = self.trading.balance(acct, {}, b"")["data"]
        if _stable_account(account) != _stable_account(last["account"]):
            last["account"] = account
            yield "account", json.dumps({"arg": {"channel": "account"}, "data": account})

    async def push(self, messages):
        for key, channel, text in messages:
            for conn in list(self.public.conns):
                if getattr(conn, "account", None) != key or channel not in conn.subs or \
                        self.public.stalled:
                    continue
                for _ in range(2 if self.duplicate else 1):
                    self.pushes += 1
                    await self.public.send(conn, text)

    # ---------------------------------------------------------- control
    CONTROL_KEYS = ("refuse_login", "duplicate_pushes")

    def control(self, req):
        if "refuse_login" in req:
            self.refuse_login = int(req["refuse_login"])
        if "duplicate_pushes" in req:
            self.duplicate = bool(req["duplicate_pushes"])

    def stats(self, conns):
        subscribed = {}
        for c in conns:
            for ch in (c.subs if getattr(c, "account", None) else ()):
                subscribed[ch] = subscribed.get(ch, 0) + 1
        return {"logins": self.logins, "login_refused": self.login_refused,
                "subscribed": subscribed, "pushes": self.pushes}


def _stable(position):
    """A position without the fields that move with the mark price alone."""
    if position is None:
        return None
    return {k: v for k, v in position.items() if k in (
        "positions", "averagePrice", "marginMode", "positionSide", "instId")}


def _stable_account(data):
    if data is None:
        return None
    return [(d["currency"], d["balance"], d["frozen"]) for d in data["details"]]
