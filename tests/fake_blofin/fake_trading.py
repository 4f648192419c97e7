"""The signed private API of the fake BloFin server (Python 3 stdlib only).

The contract is BloFin's published documentation, kept in shared/blofin/
beside the repository: index.md (REST v1) and errors.md (error codes). Every
endpoint, parameter, field, state and error code here is cited by heading
("index.md, GET Order Detail", "errors.md"). Where the docs are silent the fake
does the least convenient plausible thing for a client, or makes it
switchable through the control API; README.md in this folder lists each case.

fake_blofin.py builds one Trading around its State, registers
Trading.routes(), forwards unknown /_control/ paths to Trading.control(), adds
Trading.stats_locked() to /_control/stats, calls Trading.reset_locked() on
/_control/reset and Trading.on_tickers_locked() after /_control/tickers.
All state is guarded by state.lock; methods named *_locked expect the caller
to hold it. This module never imports fake_blofin (that file usually runs as
__main__, so importing it would build a second State).
"""
import base64
import collections
import decimal
import hashlib
import hmac
import json
import re
import time
from decimal import Decimal, InvalidOperation, ROUND_HALF_EVEN
from urllib.parse import parse_qs

# Enough digits for 18+ fraction digits on large balances; DefaultContext is
# what the server's request threads start from.
decimal.DefaultContext.prec = 60
decimal.getcontext().prec = 60

# ------------------------------------------------------------------ errors.md
# Every code the fake answers, with errors.md's message ("{}" filled in).
# test_fake_trading.py checks each row against errors.md.
ERRORS = {
    "404": "not found",
    "405": "Method Not Allowed",
    "429": "Too Many Requests",
    "1": "All operations failed",
    "152001": "Parameter {} cannot be empty.",
    "152002": "Parameter {} error.",
    "152003": "Either parameter {} or {} is required.",
    "152004": "JSON syntax error, Please check if the parameter should be an array or an object.",
    "152009": "{} must be a combination of numbers, letters, or underscores, and the maximum "
              "length of characters is 32.",
    "152014": "Instrument ID does not exist",
    "152015": "Number of instId values exceeds the maximum limit of 20",
    "152401": "Access key does not exist, Please go to the API Management page and check if "
              "it exists and is in an active state.",
    "152405": "Timestamp in header or signature has expired, need to be within 60s",
    "152407": "Repeated nonce, Reusing within 60 seconds is not allowed.",
    "152408": "Passphrase error",
    "152409": "Signature verification failed, Please refer to [Signature Verification Failed]"
              "(https://docs.blofin.com/index.html#signature-verification-failed)",
    "152410": "The value of ACCESS-TIMESTAMP needs to be a millisecond timestamp, e.g: "
              "1704038400000.",
    "102002": "Duplicate customized order ID",
    "102014": "Limit order exceeds maximum order size limit",
    "102015": "Market order exceeds maximum order size limit",
    "102022": "Failed to place order. You don't have any positions of this contract. Turn off "
              "Reduce-only to continue.",
    "102037": "TP trigger price should be higher than the latest trading price",
    "102038": "SL trigger price should be lower than the latest trading price",
    "102039": "TP trigger price should be lower than the latest trading price",
    "102040": "SL trigger price should be higher than the latest trading price",
    "102064": "Buy price is not within the price limit (Minimum: {}; Maximum:{})",
    "102065": "Sell price is not within the price limit",
    "102068": "Cancel failed as the order has been filled, triggered, canceled or does not "
              "exist.",
    "102089": "Position mode mismatch",
    "103003": "Order failed. Insufficient USDT margin in account",
    "110006": "You have pending cross orders. Please cancel them before adjusting your "
              "leverage.",
    "110019": "Setting failed. Cancel any open orders, and close positions first.",
}


def message(code, *args):
    text = ERRORS[code]
    for a in args:
        text = text.replace("{}", str(a), 1)
    return text


def envelope(data, code="0", msg="success"):
    return {"code": code, "msg": msg, "data": data}


def error_envelope(code, *args):
    # Docs silent on `data` of a refused request: the fake sends null.
    return envelope(None, code=code, msg=message(code, *args))


class Fail(Exception):
    """A whole-request refusal (envelope code != "0"); HTTP 200 per errors.md."""

    def __init__(self, code, *args, status=200):
        super().__init__(code)
        self.code, self.msg, self.status = code, message(code, *args), status


class Reject(Exception):
    """A per-order refusal, reported inside data (index.md, Place Order)."""

    def __init__(self, code, *args):
        super().__init__(code)
        self.code, self.msg = code, message(code, *args)


# --------------------------------------------------------------- constants
AUTH_HEADERS = ("ACCESS-KEY", "ACCESS-SIGN", "ACCESS-TIMESTAMP", "ACCESS-NONCE",
                "ACCESS-PASSPHRASE")  # index.md, REST Authentication / Making Requests
TIMESTAMP_WINDOW_MS = 60_000  # errors.md 152405 "need to be within 60s"
NONCE_MEMORY_MS = 60_000  # errors.md 152407 "Reusing within 60 seconds is not allowed"
DEFAULT_LEVERAGE = 3  # index.md examples (GET Positions, GET Active Orders: "leverage": "3")
MARGIN_MODES = ("cross", "isolated")  # index.md, Place Order / Set Margin Mode
POSITION_MODES = ("net_mode", "long_short_mode")  # index.md, Set Position Mode
ORDER_TYPES = ("market", "limit", "post_only", "fok", "ioc")  # index.md, Place Order
PENDING_STATES = ("live", "partially_filled")  # index.md, GET Active Orders
FINAL_STATES = ("canceled", "filled", "partially_canceled")  # index.md, GET Order History
NUMBER_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
MS_RE = re.compile(r"^[0-9]{13}$")  # errors.md 152410 "e.g: 1704038400000"
# index.md, Place Order: clientOrderId "A combination of case-sensitive
# alphanumerics, all numbers, or all letters of up to 32 characters". errors.md
# 152009 also allows underscores; the fake takes the stricter reading.
CID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")
BROKER_RE = re.compile(r"^[A-Za-z0-9]{1,16}$")  # index.md, Place Order: brokerId
PAGE_DEFAULT, PAGE_MAX = 20, 100  # "The maximum is 100; The default is 20"

ORDER_PATH = "/api/v1/trade/order"
CANCEL_PATH = "/api/v1/trade/cancel-order"

# Fields of an order object, in the order of the docs' examples.
PENDING_FIELDS = (  # index.md, GET Active Orders and GET Order Detail
    "orderId", "clientOrderId", "instId", "marginMode", "positionSide", "side", "orderType",
    "price", "size", "reduceOnly", "leverage", "state", "filledSize", "filled_amount",
    "averagePrice", "fee", "pnl", "createTime", "updateTime", "orderCategory",
    "tpTriggerPrice", "slTriggerPrice", "slOrderPrice", "tpOrderPrice", "algoClientOrderId",
    "algoId", "brokerId")
HISTORY_FIELDS = (  # index.md, GET Order History
    "orderId", "clientOrderId", "instId", "marginMode", "positionSide", "side", "orderType",
    "price", "size", "reduceOnly", "leverage", "state", "filledSize", "pnl", "averagePrice",
    "fee", "createTime", "updateTime", "orderCategory", "tpTriggerPrice", "tpOrderPrice",
    "slTriggerPrice", "slOrderPrice", "cancelSource", "cancelSourceReason",
    "algoClientOrderId", "algoId", "brokerId")


def now_ms():
    return int(time.time() * 1000)


def d18(d):
    """A decimal as BloFin writes it: at least 18 fraction digits, up to 22
    ("1.000000000000000000", "0.190536000000000000"; index.md examples)."""
    q = d.quantize(Decimal(1).scaleb(-22), rounding=ROUND_HALF_EVEN)
    if q == 0:
        q = q.copy_abs()
    whole, frac = format(q, "f").split(".")
    return whole + "." + frac.rstrip("0").ljust(18, "0")


def plain(d):
    """A decimal without exponent or trailing zeros ("1", "-290", "1591.69")."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def sgn(d):
    return (d > 0) - (d < 0)


def signature(secret, prehash):
    """index.md, Signature: Base64 of the hex text of HMAC-SHA256."""
    digest = hmac.new(secret.encode("utf-8"), prehash.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(digest.hexdigest().encode("ascii")).decode("ascii")


# ------------------------------------------------------------ request fields

def parse_body(body):
    """A POST body must be a JSON object (index.md, REST Authentication)."""
    try:
        obj = json.loads(body.decode("utf-8")) if body else None
    except (ValueError, UnicodeDecodeError):
        obj = None
    if not isinstance(obj, dict):
        raise Fail("152004")
    return obj


def text_field(req, name, choices=None, required=True):
    """A documented String parameter: "" counts as absent; a JSON number or any
    non-string is refused (the docs type every parameter as String)."""
    value = req.get(name)
    if value is None or value == "":
        if required:
            raise Fail("152001", name)
        return None
    if not isinstance(value, str) or (choices is not None and value not in choices):
        raise Fail("152002", name)
    return value


def number_field(req, name, required=True, allow_minus_one=False):
    value = text_field(req, name, required=required)
    if value is None:
        return None
    if allow_minus_one and value == "-1":
        return Decimal(-1)
    if not NUMBER_RE.match(value) or Decimal(value) <= 0:
        raise Fail("152002", name)
    return Decimal(value)


def query_value(query, name):
    values = query.get(name)
    return values[0] if values and values[0] != "" else None


def query_choice(query, name, choices):
    value = query_value(query, name)
    if value is not None and value not in choices:
        raise Fail("152002", name)
    return value


def query_ms(query, name):
    value = query_value(query, name)
    if value is not None and not re.match(r"^[0-9]+$", value):
        raise Fail("152002", name)
    return None if value is None else int(value)


def page(items, query, key, time_key=None):
    """Pagination of index.md's list endpoints: `items` newest first (index.md,
    General Info: "Data is returned in descending order"); after = older than the
    id, before = newer than the id (not both: 152002); begin/end filter the time
    (inclusive); limit default 20, at most 100 (larger values are cut to 100)."""
    after, before = query_value(query, "after"), query_value(query, "before")
    if after is not None and before is not None:
        raise Fail("152002", "before")
    for name, value in (("after", after), ("before", before)):
        if value is not None and not re.match(r"^[0-9]+$", value):
            raise Fail("152002", name)
    limit = query_value(query, "limit")
    if limit is None:
        limit = PAGE_DEFAULT
    elif not re.match(r"^[0-9]+$", limit) or int(limit) < 1:
        raise Fail("152002", "limit")
    limit = min(int(limit), PAGE_MAX)
    if time_key is not None:
        begin, end = query_ms(query, "begin"), query_ms(query, "end")
        items = [i for i in items if (begin is None or i[time_key] >= begin)
                 and (end is None or i[time_key] <= end)]
    if after is not None:
        return [i for i in items if int(i[key]) < int(after)][:limit]
    if before is not None:
        newer = [i for i in items if int(i[key]) > int(before)]
        return newer[-limit:]  # the `limit` records right after the cursor, newest first
    return items[:limit]


# ------------------------------------------------------------------- account

class Account:
    def __init__(self, api_key, secret, passphrase, balance):
        self.api_key, self.secret, self.passphrase = api_key, secret, passphrase
        self.balance = balance
        self.position_mode = "net_mode"  # index.md, GET Position Mode example
        self.margin_mode = "cross"  # account default; docs silent
        self.orders = {}  # orderId -> order dict (Decimals inside), insertion = age
        self.positions = {}  # (instId, marginMode, positionSide) -> position dict
        self.fills = []  # oldest first
        self.leverage = {}  # (instId, marginMode, "net"|"long"|"short") -> int
        self.trade_times = collections.deque()  # monotonic seconds of counted requests

    def lev_side(self, margin_mode, position_side):
        """index.md, Set Leverage: positionSide matters only for isolated in
        long/short mode; otherwise one leverage per instrument and margin mode."""
        if self.position_mode == "long_short_mode" and margin_mode == "isolated":
            return position_side
        return "net"

    def lev(self, inst, margin_mode, position_side):
        key = (inst, margin_mode, self.lev_side(margin_mode, position_side))
        return self.leverage.get(key, DEFAULT_LEVERAGE)

    def live_orders(self):
        return [o for o in self.orders.values() if o["state"] in PENDING_STATES]


class Trading:
    def __init__(self, state):
        self.state = state
        self.reset_locked()

    # ----------------------------------------------------------- lifecycle

    def reset_locked(self):
        self.accounts = {}
        self.nonces = {}  # nonce -> ms first seen (server-wide; docs silent on scope)
        self.auth_failures = {}
        self.rate_limited = 0
        self.next_order_id = 1000000001
        self.next_trade_id = 500000001
        self.next_position_id = 7000001

    def stats_locked(self):
        return {"auth_failures": dict(self.auth_failures), "rate_limited": self.rate_limited}

    def routes(self):
        p = self.private
        return {
            ("POST", ORDER_PATH): p("POST", self.place_order),
            ("POST", CANCEL_PATH): p("POST", self.cancel_order),
            ("GET", "/api/v1/trade/orders-pending"): p("GET", self.orders_pending),
            ("GET", "/api/v1/trade/order-detail"): p("GET", self.order_detail),
            ("GET", "/api/v1/trade/orders-history"): p("GET", self.orders_history),
            ("GET", "/api/v1/trade/fills-history"): p("GET", self.fills_history),
            ("GET", "/api/v1/account/balance"): p("GET", self.balance),
            ("GET", "/api/v1/account/positions"): p("GET", self.positions),
            ("GET", "/api/v1/account/margin-mode"): p("GET", self.get_margin_mode),
            ("POST", "/api/v1/account/set-margin-mode"): p("POST", self.set_margin_mode),
            ("GET", "/api/v1/account/position-mode"): p("GET", self.get_position_mode),
            ("POST", "/api/v1/account/set-position-mode"): p("POST", self.set_position_mode),
            ("GET", "/api/v1/account/batch-leverage-info"): p("GET", self.batch_leverage_info),
            ("POST", "/api/v1/account/set-leverage"): p("POST", self.set_leverage),
        }

    # ------------------------------------------------------- control API

    def control(self, method, path, query, body):
        """The trading control paths; None when `path` is not one of them."""
        if method == "POST" and path == "/_control/accounts":
            try:
                req = json.loads(body or b"{}")
                key, secret, phrase = req["apiKey"], req["secret"], req["passphrase"]
                if not all(isinstance(v, str) and v for v in (key, secret, phrase)):
                    raise ValueError("apiKey, secret and passphrase must be non-empty strings")
                raw = req.get("balance", "10000")
                if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                    raise ValueError("balance must be a string or a number")
                balance = Decimal(str(raw))
                if not balance.is_finite():
                    raise ValueError("balance must be a number")
                pmode = req.get("positionMode", "net_mode")
                mmode = req.get("marginMode", "cross")
                if pmode not in POSITION_MODES or mmode not in MARGIN_MODES:
                    raise ValueError("bad positionMode or marginMode")
            except (ValueError, KeyError, TypeError, InvalidOperation, AttributeError) as e:
                return 400, {"error": f"bad account: {e!r}"}
            with self.state.lock:
                acct = Account(key, secret, phrase, balance)
                acct.position_mode, acct.margin_mode = pmode, mmode
                self.accounts[key] = acct
            return 200, {"ok": True}
        if method == "GET" and path == "/_control/accounts/state":
            key = query_value(parse_qs(query), "apiKey")
            with self.state.lock:
                acct = self.accounts.get(key)
                if acct is None:
                    return 404, {"error": "unknown apiKey"}
                insts = sorted(self.state.instruments)
                return 200, {
                    "balance": plain(acct.balance),
                    "positionMode": acct.position_mode,
                    "marginMode": acct.margin_mode,
                    "orders": [self.order_json_locked(o, HISTORY_FIELDS + ("filled_amount",))
                               for o in acct.orders.values()],
                    "positions": [self.position_json_locked(acct, p)
                                  for _, p in sorted(acct.positions.items())],
                    "fills": [self.fill_json(f) for f in acct.fills],
                    "leverage": {i: str(acct.lev(i, "cross", "net")) for i in insts},
                    "leverages": [{"instId": i, "marginMode": m, "positionSide": s,
                                   "leverage": str(v)}
                                  for (i, m, s), v in sorted(acct.leverage.items())],
                }
        return None

    # ------------------------------------------------------ authentication

    def private(self, method, fn):
        """Wraps fn(acct, query, body) -> envelope with authentication, the
        trading rate limit and error envelopes."""

        def handler(path, query, body, headers, raw_target):
            with self.state.lock:
                try:
                    acct = self.authenticate_locked(method, raw_target, headers, body)
                except Fail as f:
                    self.auth_failures[f.code] = self.auth_failures.get(f.code, 0) + 1
                    return f.status, envelope(None, code=f.code, msg=f.msg)
                if self.rate_counted(path) and not self.take_rate_slot_locked(acct):
                    self.rate_limited += 1
                    # index.md, Rate Limits; errors.md 429 is the one HTTP 429 row.
                    return 429, error_envelope("429")
                try:
                    return 200, fn(acct, query, body)
                except Fail as f:
                    return f.status, envelope(None, code=f.code, msg=f.msg)
                except Exception as e:  # a bug in the fake: say so instead of hanging up
                    return 500, envelope(None, code="500", msg=f"fake_trading bug: {e!r}")

        return handler

    def authenticate_locked(self, method, raw_target, headers, body):
        """index.md, REST Authentication and Signature; codes from errors.md.
        Checked in this order; only a request that passes all of them uses up
        its nonce."""
        h = {name: headers.get(name) or "" for name in AUTH_HEADERS}
        acct = self.accounts.get(h["ACCESS-KEY"]) if h["ACCESS-KEY"] else None
        if acct is None:
            raise Fail("152401")
        if not hmac.compare_digest(h["ACCESS-PASSPHRASE"].encode("utf-8"),
                                   acct.passphrase.encode("utf-8")):
            raise Fail("152408")
        ts = h["ACCESS-TIMESTAMP"]
        if not MS_RE.match(ts):
            raise Fail("152410")
        now = now_ms()
        if abs(int(ts) - now) > TIMESTAMP_WINDOW_MS:
            raise Fail("152405")
        nonce = h["ACCESS-NONCE"]
        if not nonce:
            raise Fail("152001", "ACCESS-NONCE")
        # index.md, Signature: body is "empty string for GET" (a GET body is ignored).
        try:
            text = body.decode("utf-8") if method == "POST" else ""
        except UnicodeDecodeError:
            raise Fail("152409")
        expected = signature(acct.secret, raw_target + method.upper() + ts + nonce + text)
        if not hmac.compare_digest(expected.encode("ascii"), h["ACCESS-SIGN"].encode("utf-8")):
            raise Fail("152409")
        for old in [n for n, t in self.nonces.items() if t < now - NONCE_MEMORY_MS]:
            del self.nonces[old]
        if nonce in self.nonces:
            raise Fail("152407")
        self.nonces[nonce] = now
        return acct

    def rate_counted(self, path):
        """index.md, Rate Limits: "trading-related APIs at 30 requests every 10
        seconds (based on UserId)". Which endpoints count is not listed; the
        default scope "trade" counts every /api/v1/trade/ path, reads included."""
        scope = self.state.limits["trade_scope"]
        if scope == "private":
            return True
        if scope == "orders":
            return path in (ORDER_PATH, CANCEL_PATH)
        return path.startswith("/api/v1/trade/")

    def take_rate_slot_locked(self, acct):
        """Sliding window per account. Refused requests count too (docs silent;
        a client that keeps retrying stays limited)."""
        limit = self.state.limits["trade"]
        window = self.state.limits["trade_window_ms"] / 1000
        now = time.monotonic()
        times = acct.trade_times
        while times and times[0] <= now - window:
            times.popleft()
        times.append(now)
        return limit is None or len(times) <= limit

    # --------------------------------------------------------- market data

    def spec_locked(self, inst):
        return self.state.instruments.get(inst)

    def ticker_locked(self, inst):
        t = self.state.tickers.get(inst)
        if not t:
            return None
        return {k: Decimal(t[k]) for k in ("bid", "ask", "last", "mark")}

    def mark_locked(self, p):
        t = self.ticker_locked(p["instId"])
        return t["mark"] if t else p["avg"]

    def taker(self):
        return self.state.settings["taker_fee"]

    # ------------------------------------------------------------- margin

    def position_margin_locked(self, acct, p):
        return abs(p["size"]) * p["avg"] * p["cv"] / acct.lev(
            p["instId"], p["marginMode"], p["positionSide"])

    def order_margin(self, o):
        if o["closing"] or o["price"] is None:
            return Decimal(0)
        return (o["size"] - o["filled"]) * o["price"] * o["cv"] / o["leverage"]

    def upl_locked(self, p):
        mark = self.mark_locked(p)
        direction = -1 if p["positionSide"] == "short" else 1
        return (mark - p["avg"]) * p["size"] * p["cv"] * direction

    def totals_locked(self, acct):
        pos_margin = sum((self.position_margin_locked(acct, p) for p in acct.positions.values()),
                         Decimal(0))
        order_frozen = sum((self.order_margin(o) for o in acct.live_orders()), Decimal(0))
        upl = sum((self.upl_locked(p) for p in acct.positions.values()), Decimal(0))
        iso = [p for p in acct.positions.values() if p["marginMode"] == "isolated"]
        iso_upl = sum((self.upl_locked(p) for p in iso), Decimal(0))
        iso_margin = sum((self.position_margin_locked(acct, p) for p in iso), Decimal(0))
        frozen = pos_margin + order_frozen
        equity = acct.balance + upl
        return {"pos_margin": pos_margin, "order_frozen": order_frozen, "frozen": frozen,
                "upl": upl, "equity": equity, "available": acct.balance - frozen,
                "available_equity": equity - frozen, "iso_upl": iso_upl,
                "iso_equity": iso_margin + iso_upl}

    def tier_locked(self, inst, size):
        tiers = self.state.position_tiers(inst)
        for t in tiers:
            if abs(size) <= t["maxSize"]:
                return t
        return tiers[-1]

    # -------------------------------------------------------------- orders

    def place_order(self, acct, query, body):
        """index.md, Place Order. Parameter errors refuse the whole request
        (152xxx); business refusals are per order, inside data[0]."""
        req = parse_body(body)
        inst = text_field(req, "instId")
        margin_mode = text_field(req, "marginMode", MARGIN_MODES)
        position_side = text_field(req, "positionSide", ("net", "long", "short"), required=False)
        side = text_field(req, "side", ("buy", "sell"))
        order_type = text_field(req, "orderType", ORDER_TYPES)
        # "price: Not applicable to market" -> ignored for market orders.
        price = number_field(req, "price") if order_type != "market" else None
        size = number_field(req, "size")
        reduce_only = text_field(req, "reduceOnly", ("true", "false"), required=False) == "true"
        cid = text_field(req, "clientOrderId", required=False)
        if cid is not None and not CID_RE.match(cid):
            raise Fail("152009", "clientOrderId")
        broker = text_field(req, "brokerId", required=False)
        if broker is not None and not BROKER_RE.match(broker):
            raise Fail("152002", "brokerId")
        tpsl = {}
        for trig, px in (("tpTriggerPrice", "tpOrderPrice"), ("slTriggerPrice", "slOrderPrice")):
            t = number_field(req, trig, required=False)
            o = number_field(req, px, required=False, allow_minus_one=True)
            # "If you fill in this parameter, you should fill in the ... as well."
            if t is not None and o is None:
                raise Fail("152001", px)
            if o is not None and t is None:
                raise Fail("152001", trig)
            tpsl[trig], tpsl[px] = t, o
        spec = self.spec_locked(inst)
        # index.md, GET Instruments: state live|suspend. A suspended instrument is
        # refused like an unknown one (docs silent on the code).
        if spec is None or spec["state"] != "live":
            raise Fail("152014")
        lot, min_size, tick = (Decimal(spec[k]) for k in ("lotSize", "minSize", "tickSize"))
        if size % lot != 0 or size < min_size:
            raise Fail("152002", "size")
        if price is not None and price % tick != 0:
            raise Fail("152002", "price")
        try:
            order = self.new_order_locked(acct, spec, inst, margin_mode, position_side, side,
                                          order_type, price, size, reduce_only, cid, broker,
                                          tpsl)
        except Reject as r:
            return self.per_order_reject({"orderId": None, "clientOrderId": cid,
                                          "msg": r.msg, "code": r.code}, as_list=True)
        # index.md, Place Order response example: envelope msg "" and data msg "".
        return envelope([{"orderId": order["orderId"], "clientOrderId": cid, "msg": "",
                          "code": "0"}], msg="")

    def per_order_reject(self, item, as_list):
        """A per-order refusal. Default: envelope code "0" / "success" (as BloFin
        was recorded answering); settings envelope "errors_md": code "1", "All
        operations failed" (errors.md)."""
        data = [item] if as_list else item
        if self.state.settings["envelope"] == "errors_md":
            return envelope(data, code="1", msg=message("1"))
        return envelope(data)

    def new_order_locked(self, acct, spec, inst, margin_mode, position_side, side, order_type,
                         price, size, reduce_only, cid, broker, tpsl):
        # index.md, Place Order: positionSide "Default net for One-way Mode; long or
        # short for Hedge Mode. It must be sent in Hedge Mode." -> 102089 otherwise.
        if acct.position_mode == "net_mode":
            if position_side not in (None, "net"):
                raise Reject("102089")
            position_side = "net"
        elif position_side not in ("long", "short"):
            raise Reject("102089")
        # index.md, GET Instruments: maxLimitSize / maxMarketSize; errors.md 102014/102015.
        if order_type == "market" and size > Decimal(spec["maxMarketSize"]):
            raise Reject("102015")
        if order_type != "market" and size > Decimal(spec["maxLimitSize"]):
            raise Reject("102014")
        ticker = self.ticker_locked(inst)
        band = self.state.settings["price_band"]
        if band is not None and price is not None and ticker is not None:
            lo, hi = ticker["last"] * (1 - band), ticker["last"] * (1 + band)
            if not lo <= price <= hi:
                if side == "buy":
                    raise Reject("102064", plain(lo), plain(hi))
                raise Reject("102065")

        cv = Decimal(spec["contractValue"])
        delta = size if side == "buy" else -size
        if position_side == "net":
            pos = acct.positions.get((inst, margin_mode, "net"))
            cur = pos["size"] if pos else Decimal(0)
            closing = reduce_only
            if reduce_only:
                if cur == 0 or sgn(cur) == sgn(delta):
                    raise Reject("102022")
                # "the position will be fully closed, and no new position will be opened"
                size = min(size, abs(cur))
                increasing = Decimal(0)
            elif cur == 0 or sgn(cur) == sgn(delta):
                increasing = size
            else:
                increasing = max(Decimal(0), size - abs(cur))
        else:
            opening = (side == "buy") == (position_side == "long")
            if opening and reduce_only:
                raise Reject("102022")
            closing = not opening
            if closing:  # sell long / buy short closes (hedge mode)
                pos = acct.positions.get((inst, margin_mode, position_side))
                if pos is None:
                    raise Reject("102022")
                size = min(size, pos["size"])
            increasing = size if opening else Decimal(0)

        # TP/SL against the latest price (errors.md 102037-102040).
        long_rules = side == "buy" if position_side == "net" else position_side == "long"
        if ticker is not None:
            last = ticker["last"]
            tp, sl = tpsl["tpTriggerPrice"], tpsl["slTriggerPrice"]
            if long_rules:
                if tp is not None and tp <= last:
                    raise Reject("102037")
                if sl is not None and sl >= last:
                    raise Reject("102038")
            else:
                if tp is not None and tp >= last:
                    raise Reject("102039")
                if sl is not None and sl <= last:
                    raise Reject("102040")

        # errors.md 102002; scope switchable (settings duplicate_scope).
        if cid is not None:
            states = PENDING_STATES if self.state.settings["duplicate_scope"] == "live" else None
            for o in acct.orders.values():
                if o["clientOrderId"] == cid and (states is None or o["state"] in states):
                    raise Reject("102002")

        lev = acct.lev(inst, margin_mode, position_side)
        if increasing > 0:
            if order_type == "market":
                margin_price = (ticker["ask"] if side == "buy" else ticker["bid"]) if ticker else None
            else:
                margin_price = price
            if margin_price is not None:
                required = increasing * margin_price * cv / lev
                t = self.totals_locked(acct)
                if required > min(t["available"], t["available_equity"]):
                    raise Reject("103003")

        now = now_ms()
        order = self.new_order_record_locked(acct, inst, cv, margin_mode, position_side, side,
                                             order_type, price, size, reduce_only, closing,
                                             cid, broker, lev, now, "normal")
        order.update(tpsl)
        self.arrive_locked(acct, order)
        return order

    def new_order_record_locked(self, acct, inst, cv, margin_mode, position_side, side,
                                order_type, price, size, reduce_only, closing, cid, broker, lev,
                                now, category):
        order = {
            "orderId": str(self.next_order_id), "clientOrderId": cid, "instId": inst,
            "marginMode": margin_mode, "positionSide": position_side, "side": side,
            "orderType": order_type, "price": price, "size": size, "reduceOnly": reduce_only,
            "closing": closing, "leverage": lev, "state": "live", "filled": Decimal(0),
            "notional": Decimal(0), "fee": Decimal(0), "pnl": Decimal(0), "createTime": now,
            "updateTime": now, "cv": cv, "brokerId": broker or "", "orderCategory": category,
            "tpTriggerPrice": None, "tpOrderPrice": None, "slTriggerPrice": None,
            "slOrderPrice": None, "tpsl_done": False, "cancelSource": "",
            "cancelSourceReason": "",
        }
        self.next_order_id += 1
        acct.orders[order["orderId"]] = order
        return order

    def arrive_locked(self, acct, order):
        """Matching on arrival (index.md, Place Order: order types). The size
        available at the touch is the ticker's askSize/bidSize, used up by
        every fill until the next ticker update."""
        inst, side, otype = order["instId"], order["side"], order["orderType"]
        ticker = self.ticker_locked(inst)
        book = self.state.touch.get(inst, {"ask": Decimal(0), "bid": Decimal(0)})
        key = "ask" if side == "buy" else "bid"
        touch = ticker[key] if ticker else None
        if touch is None:
            crosses = False
        elif otype == "market":
            crosses = True
        else:
            crosses = touch <= order["price"] if side == "buy" else touch >= order["price"]
        remaining = order["size"]
        if otype == "market":
            if not crosses:  # no market price: accepted, then canceled (docs silent)
                return self.cancel_locked(order, "", "No market price")
            self.fill_locked(acct, order, touch, remaining, maker=False)
            book[key] = max(Decimal(0), book[key] - remaining)
            return
        if otype == "post_only":
            if crosses:  # docs silent: accepted, then canceled with nothing filled
                self.cancel_locked(order, "", "Post-only order would take liquidity")
            return
        if otype == "fok":
            if crosses and book[key] >= remaining:
                self.fill_locked(acct, order, touch, remaining, maker=False)
                book[key] -= remaining
            else:
                self.cancel_locked(order, "", "Fill-or-kill order could not be filled in full")
            return
        qty = min(remaining, book[key]) if crosses else Decimal(0)
        if qty > 0:
            self.fill_locked(acct, order, touch, qty, maker=False)
            book[key] -= qty
        if otype == "ioc" and order["state"] in PENDING_STATES:
            self.cancel_locked(order, "", "Immediate-or-cancel order: the rest was canceled")

    def cancel_locked(self, order, source, reason):
        """partially_canceled when part was filled (index.md, GET Order History)."""
        order.update(state="canceled" if order["filled"] == 0 else "partially_canceled",
                     cancelSource=source, cancelSourceReason=reason, updateTime=now_ms())

    def fill_locked(self, acct, order, price, qty, maker):
        settings = self.state.settings
        rate = settings["maker_fee"] if maker else settings["taker_fee"]
        fee = price * qty * order["cv"] * rate  # positive = paid, negative = rebate
        pnl = self.apply_position_locked(acct, order, qty, price)
        acct.balance += pnl - fee
        now = now_ms()
        order["filled"] += qty
        order["notional"] += price * qty
        order["fee"] += fee
        order["pnl"] += pnl
        order["state"] = "filled" if order["filled"] >= order["size"] else "partially_filled"
        order["updateTime"] = now
        acct.fills.append({
            "instId": order["instId"], "tradeId": str(self.next_trade_id),
            "orderId": order["orderId"], "fillPrice": price, "fillSize": qty, "fillPnl": pnl,
            "positionSide": order["positionSide"], "side": order["side"], "fee": fee, "ts": now,
            "brokerId": order["brokerId"],
        })
        self.next_trade_id += 1

    def apply_position_locked(self, acct, order, qty, price):
        """Nets a fill into the position; returns the realized pnl. Positions are
        keyed by (instId, marginMode, positionSide) (index.md, GET Positions)."""
        inst, mm, ps, now = order["instId"], order["marginMode"], order["positionSide"], now_ms()
        key = (inst, mm, ps)
        pos = acct.positions.get(key)
        if ps == "net":
            delta = qty if order["side"] == "buy" else -qty
            cur = pos["size"] if pos else Decimal(0)
            if cur == 0 or sgn(cur) == sgn(delta):
                if pos is None:
                    pos = self.new_position_locked(acct, key, order["cv"], price, now)
                pos["avg"] = (pos["avg"] * abs(cur) + price * qty) / (abs(cur) + qty)
                pos["size"] = cur + delta
                pos["updateTime"] = now
                return Decimal(0)
            closed = min(abs(cur), qty)
            pnl = (price - pos["avg"]) * closed * pos["cv"] * sgn(cur)
            pos["realized"] += pnl
            rest = cur + delta
            if rest == 0:
                del acct.positions[key]
            elif sgn(rest) == sgn(cur):
                pos["size"] = rest
                pos["updateTime"] = now
            else:  # flipped: the remainder opens a new position at the fill price
                del acct.positions[key]
                new = self.new_position_locked(acct, key, order["cv"], price, now)
                new["size"] = rest
            return pnl
        if not order["closing"]:
            if pos is None:
                pos = self.new_position_locked(acct, key, order["cv"], price, now)
            pos["avg"] = (pos["avg"] * pos["size"] + price * qty) / (pos["size"] + qty)
            pos["size"] += qty
            pos["updateTime"] = now
            return Decimal(0)
        direction = 1 if ps == "long" else -1
        pnl = (price - pos["avg"]) * qty * pos["cv"] * direction
        pos["realized"] += pnl
        pos["size"] -= qty
        pos["updateTime"] = now
        if pos["size"] <= 0:
            del acct.positions[key]
        return pnl

    def new_position_locked(self, acct, key, cv, price, now):
        inst, mm, ps = key
        pos = {"positionId": str(self.next_position_id), "instId": inst, "marginMode": mm,
               "positionSide": ps, "size": Decimal(0), "avg": price, "cv": cv,
               "realized": Decimal(0), "createTime": now, "updateTime": now}
        self.next_position_id += 1
        acct.positions[key] = pos
        return pos

    def closable_locked(self, acct, order):
        """How much of the order's position side is there to close now."""
        key = (order["instId"], order["marginMode"], order["positionSide"])
        pos = acct.positions.get(key)
        if pos is None:
            return Decimal(0)
        if order["positionSide"] == "net":
            delta = 1 if order["side"] == "buy" else -1
            if sgn(pos["size"]) == delta:
                return Decimal(0)
        return abs(pos["size"])

    def on_tickers_locked(self):
        """After POST /_control/tickers: resting orders of all accounts, oldest
        first, fill as maker at their own price up to the size at the touch;
        then attached TP/SL trigger."""
        live = sorted(((int(o["orderId"]), acct, o) for acct in self.accounts.values()
                       for o in acct.live_orders()), key=lambda x: x[0])
        for _, acct, order in live:
            if order["state"] not in PENDING_STATES:
                continue
            ticker = self.ticker_locked(order["instId"])
            book = self.state.touch.get(order["instId"])
            if ticker is None or book is None:
                continue
            key = "ask" if order["side"] == "buy" else "bid"
            if order["side"] == "buy":
                crosses = ticker["ask"] <= order["price"]
            else:
                crosses = ticker["bid"] >= order["price"]
            if not crosses or book[key] <= 0:
                continue
            qty = min(order["size"] - order["filled"], book[key])
            if order["closing"]:
                closable = self.closable_locked(acct, order)
                if closable == 0:
                    self.cancel_locked(order, "", "Reduce-only order: no position to reduce")
                    continue
                qty = min(qty, closable)
            self.fill_locked(acct, order, order["price"], qty, maker=True)
            book[key] -= qty
        self.trigger_tpsl_locked()

    def trigger_tpsl_locked(self):
        """Attached TP/SL (index.md, Place Order: tpTriggerPrice ... slOrderPrice):
        when the last price reaches a trigger of an order that has filled, a
        reduce-only close of the filled size is placed (market for order price -1,
        else limit), orderCategory tp/sl; the other leg is dropped."""
        for acct in list(self.accounts.values()):
            for order in list(acct.orders.values()):
                if order["tpsl_done"] or order["filled"] == 0 or order["orderCategory"] != "normal":
                    continue
                if order["tpTriggerPrice"] is None and order["slTriggerPrice"] is None:
                    continue
                ticker = self.ticker_locked(order["instId"])
                if ticker is None:
                    continue
                last = ticker["last"]
                is_long = order["side"] == "buy" if order["positionSide"] == "net" \
                    else order["positionSide"] == "long"
                tp, sl = order["tpTriggerPrice"], order["slTriggerPrice"]
                hit = None
                if tp is not None and (last >= tp if is_long else last <= tp):
                    hit = "tp"
                elif sl is not None and (last <= sl if is_long else last >= sl):
                    hit = "sl"
                if hit is None:
                    continue
                order["tpsl_done"] = True
                close_side = "sell" if is_long else "buy"
                probe = dict(order, side=close_side, closing=True)
                size = min(order["filled"], self.closable_locked(acct, probe))
                if size <= 0:
                    continue
                px = order[hit + "OrderPrice"]
                child = self.new_order_record_locked(
                    acct, order["instId"], order["cv"], order["marginMode"],
                    order["positionSide"], close_side, "market" if px == -1 else "limit",
                    None if px == -1 else px, size, order["positionSide"] == "net", True, None,
                    None, order["leverage"], now_ms(), hit)
                self.arrive_locked(acct, child)

    def cancel_order(self, acct, query, body):
        """index.md, Cancel Order: orderId (required by the table; clientOrderId
        accepted too, orderId wins), instId optional. data is one object."""
        req = parse_body(body)
        inst = text_field(req, "instId", required=False)
        oid = text_field(req, "orderId", required=False)
        cid = text_field(req, "clientOrderId", required=False)
        if oid is None and cid is None:
            raise Fail("152001", "orderId")
        if oid is not None:
            order = acct.orders.get(oid)
        else:
            matches = [o for o in acct.orders.values() if o["clientOrderId"] == cid]
            live = [o for o in matches if o["state"] in PENDING_STATES]
            order = (live or matches or [None])[-1]
        if order is not None and inst is not None and order["instId"] != inst:
            order = None
        if order is None or order["state"] not in PENDING_STATES:
            return self.per_order_reject({"orderId": oid, "clientOrderId": cid,
                                          "code": "102068", "msg": message("102068")},
                                         as_list=False)
        self.cancel_locked(order, "user_canceled", "Order canceled by user")
        # index.md, Cancel Order response example (msg null, clientOrderId null when none).
        return envelope({"orderId": order["orderId"], "clientOrderId": order["clientOrderId"],
                         "code": "0", "msg": None})

    def select_orders_locked(self, acct, query, states):
        """Documented filters only: instId, orderType, state (an undocumented
        orderId/clientOrderId is ignored, as if absent)."""
        inst = query_value(query, "instId")
        otype = query_choice(query, "orderType", ORDER_TYPES)
        state = query_choice(query, "state", states)
        out = [o for o in reversed(list(acct.orders.values()))
               if o["state"] in states and (inst is None or o["instId"] == inst)
               and (otype is None or o["orderType"] == otype)
               and (state is None or o["state"] == state)]
        return out

    def orders_pending(self, acct, query, body):
        """index.md, GET Active Orders: instId, orderType, state, after, before, limit."""
        orders = page(self.select_orders_locked(acct, query, PENDING_STATES), query, "orderId")
        return envelope([self.order_json_locked(o, PENDING_FIELDS) for o in orders])

    def orders_history(self, acct, query, body):
        """index.md, GET Order History: also begin/end (on createTime)."""
        orders = page(self.select_orders_locked(acct, query, FINAL_STATES), query, "orderId",
                      time_key="createTime")
        return envelope([self.order_json_locked(o, HISTORY_FIELDS) for o in orders])

    def order_detail(self, acct, query, body):
        """index.md, GET Order Detail: instId required; orderId or clientOrderId
        (orderId wins); data is one object. Unknown order: docs silent; code 404
        "not found" (errors.md), data null. By clientOrderId the newest order
        with that id is answered."""
        inst = query_value(query, "instId")
        oid, cid = query_value(query, "orderId"), query_value(query, "clientOrderId")
        algo_cid = query_value(query, "algoClientOrderId")
        if inst is None:
            raise Fail("152001", "instId")
        if oid is None and cid is None and algo_cid is None:
            raise Fail("152003", "orderId", "clientOrderId")
        order = None
        if oid is not None:
            order = acct.orders.get(oid)
        elif cid is not None:
            matches = [o for o in acct.orders.values() if o["clientOrderId"] == cid]
            order = matches[-1] if matches else None
        # algoClientOrderId: the fake has no algo orders, so nothing matches.
        if order is None or order["instId"] != inst:
            return error_envelope("404")
        return envelope(self.order_json_locked(order, PENDING_FIELDS))

    def fills_history(self, acct, query, body):
        """index.md, GET Trade History: instId, orderId, after/before (tradeId),
        begin/end (on ts), limit."""
        inst, oid = query_value(query, "instId"), query_value(query, "orderId")
        fills = [f for f in reversed(acct.fills)
                 if (inst is None or f["instId"] == inst) and (oid is None or f["orderId"] == oid)]
        return envelope([self.fill_json(f) for f in page(fills, query, "tradeId", "ts")])

    # ------------------------------------------------------------- account

    def balance(self, acct, query, body):
        """index.md, GET Futures Account Balance. "a list of assets (with
        non-zero balance)": details is empty when the USDT balance and equity are
        zero, and for productType COIN-FUTURES (the fake has only USDT)."""
        product = query_choice(query, "productType", ("USDT-FUTURES", "COIN-FUTURES"))
        t = self.totals_locked(acct)
        now = str(now_ms())
        details = []
        if product != "COIN-FUTURES" and (acct.balance != 0 or t["equity"] != 0):
            details.append({
                "currency": "USDT", "equity": d18(t["equity"]), "balance": d18(acct.balance),
                "ts": now, "isolatedEquity": d18(t["iso_equity"]),
                "available": d18(t["available"]), "availableEquity": d18(t["available_equity"]),
                "frozen": d18(t["frozen"]), "orderFrozen": d18(t["order_frozen"]),
                "equityUsd": d18(t["equity"]), "isolatedUnrealizedPnl": d18(t["iso_upl"]),
                "bonus": "0",
            })
        usdt = product != "COIN-FUTURES"
        return envelope({"ts": now, "totalEquity": d18(t["equity"] if usdt else Decimal(0)),
                         "isolatedEquity": d18(t["iso_equity"] if usdt else Decimal(0)),
                         "details": details})

    def positions(self, acct, query, body):
        """index.md, GET Positions: instId optional."""
        inst = query_value(query, "instId")
        items = sorted(acct.positions.values(), key=lambda p: -int(p["positionId"]))
        return envelope([self.position_json_locked(acct, p) for p in items
                         if inst is None or p["instId"] == inst])

    def get_margin_mode(self, acct, query, body):
        return envelope({"marginMode": acct.margin_mode})  # index.md, GET Margin Mode

    def set_margin_mode(self, acct, query, body):
        """index.md, Set Margin Mode; refused with open orders or positions
        (errors.md 110019; docs silent on when)."""
        mode = text_field(parse_body(body), "marginMode", MARGIN_MODES)
        if mode != acct.margin_mode and (acct.live_orders() or acct.positions):
            raise Fail("110019")
        acct.margin_mode = mode
        return envelope({"marginMode": mode})

    def get_position_mode(self, acct, query, body):
        return envelope({"positionMode": acct.position_mode})  # index.md, GET Position Mode

    def set_position_mode(self, acct, query, body):
        """index.md, Set Position Mode; errors.md 110019 with open orders/positions."""
        mode = text_field(parse_body(body), "positionMode", POSITION_MODES)
        if mode != acct.position_mode and (acct.live_orders() or acct.positions):
            raise Fail("110019")
        acct.position_mode = mode
        return envelope({"positionMode": mode})

    def batch_leverage_info(self, acct, query, body):
        """index.md, GET Multiple Leverage: instId (up to 20, comma separated) and
        marginMode both required. One row per instrument (positionSide net); two
        (long, short) for isolated in long/short mode."""
        insts = query_value(query, "instId")
        if insts is None:
            raise Fail("152001", "instId")
        margin_mode = query_value(query, "marginMode")
        if margin_mode is None:
            raise Fail("152001", "marginMode")
        if margin_mode not in MARGIN_MODES:
            raise Fail("152002", "marginMode")
        names = insts.split(",")
        if len(names) > 20:
            raise Fail("152015")
        out = []
        for inst in names:
            if self.spec_locked(inst) is None:
                raise Fail("152014")
            sides = ("long", "short") if acct.lev_side(margin_mode, "long") != "net" else ("net",)
            for side in sides:
                out.append({"leverage": str(acct.lev(inst, margin_mode, side)),
                            "marginMode": margin_mode, "instId": inst, "positionSide": side})
        return envelope(out)

    def set_leverage(self, acct, query, body):
        """index.md, Set Leverage: instId, leverage (String, integer 1..maxLeverage),
        marginMode, positionSide (required only for isolated in long/short mode).
        errors.md 110006 while cross orders of the instrument are pending."""
        req = parse_body(body)
        inst = text_field(req, "instId")
        lev = text_field(req, "leverage")
        margin_mode = text_field(req, "marginMode", MARGIN_MODES)
        position_side = text_field(req, "positionSide", ("long", "short", "net"), required=False)
        spec = self.spec_locked(inst)
        if spec is None:
            raise Fail("152014")
        if not re.match(r"^[0-9]+$", lev) or not 1 <= int(lev) <= int(Decimal(spec["maxLeverage"])):
            raise Fail("152002", "leverage")
        if acct.lev_side(margin_mode, "long") != "net":  # isolated in long/short mode
            if position_side is None:
                raise Fail("152001", "positionSide")
            if position_side == "net":
                raise Fail("152002", "positionSide")
            side = position_side
        else:
            side = "net"
        if margin_mode == "cross" and any(o["instId"] == inst and o["marginMode"] == "cross"
                                          for o in acct.live_orders()):
            raise Fail("110006")
        acct.leverage[(inst, margin_mode, side)] = int(lev)
        return envelope({"leverage": str(int(lev)), "marginMode": margin_mode, "instId": inst,
                         "positionSide": position_side or "net"})

    # --------------------------------------------------------------- JSON

    def order_json_locked(self, o, fields):
        filled = o["filled"]
        if filled > 0:
            avg = d18(o["notional"] / filled)
        else:  # "Average filled price. If none is filled, it will return ""."
            avg = "" if self.state.settings["unfilled_average_price"] == "empty" else d18(
                Decimal(0))

        def opt(v):
            return None if v is None else d18(v)

        values = {
            "orderId": o["orderId"], "clientOrderId": o["clientOrderId"] or "",
            "instId": o["instId"], "marginMode": o["marginMode"],
            "positionSide": o["positionSide"], "side": o["side"], "orderType": o["orderType"],
            "price": d18(o["price"] if o["price"] is not None else Decimal(0)),
            "size": d18(o["size"]), "reduceOnly": "true" if o["reduceOnly"] else "false",
            "leverage": str(o["leverage"]), "state": o["state"], "filledSize": d18(filled),
            # filled_amount: in the examples, not in the tables; the fake reports the
            # filled quantity in base currency (filledSize x contractValue).
            "filled_amount": d18(filled * o["cv"]), "averagePrice": avg, "fee": d18(o["fee"]),
            "pnl": d18(o["pnl"]), "createTime": str(o["createTime"]),
            "updateTime": str(o["updateTime"]), "orderCategory": o["orderCategory"],
            "tpTriggerPrice": opt(o["tpTriggerPrice"]), "tpOrderPrice": opt(o["tpOrderPrice"]),
            "slTriggerPrice": opt(o["slTriggerPrice"]), "slOrderPrice": opt(o["slOrderPrice"]),
            "cancelSource": o["cancelSource"], "cancelSourceReason": o["cancelSourceReason"],
            "algoClientOrderId": "", "algoId": "", "brokerId": o["brokerId"],
        }
        return {k: values[k] for k in fields}

    @staticmethod
    def fill_json(f):
        """index.md, GET Trade History: exactly the documented fields."""
        return {
            "instId": f["instId"], "tradeId": f["tradeId"], "orderId": f["orderId"],
            "fillPrice": d18(f["fillPrice"]), "fillSize": d18(f["fillSize"]),
            "fillPnl": d18(f["fillPnl"]), "positionSide": f["positionSide"], "side": f["side"],
            "fee": d18(f["fee"]), "ts": str(f["ts"]), "brokerId": f["brokerId"],
        }

    def position_json_locked(self, acct, p):
        """index.md, GET Positions (every documented field). The margin ratio and
        liquidation price are the fake's estimates; they reproduce the isolated
        example of the docs: marginRatio = (margin + upl) / (maintenance + closing
        fee), liquidation where margin + upl = maintenance + closing fee."""
        inst, mm, ps = p["instId"], p["marginMode"], p["positionSide"]
        lev = acct.lev(inst, mm, ps)
        mark = self.mark_locked(p)
        q, cv = abs(p["size"]), p["cv"]
        tier = self.tier_locked(inst, q)
        mmr, taker = tier["maintenanceMarginRate"], self.taker()
        maintenance = q * mark * cv * mmr
        close_fee = q * mark * cv * taker
        upl = self.upl_locked(p)
        margin = q * p["avg"] * cv / lev
        is_long = p["size"] > 0 if ps == "net" else ps == "long"
        if mm == "isolated":
            collateral = margin
        else:
            collateral = margin + self.totals_locked(acct)["available"]
        ratio = (collateral + upl) / (maintenance + close_fee) if maintenance + close_fee else 0
        if is_long:
            liq = (p["avg"] * q * cv - collateral) / (q * cv * (1 - mmr - taker))
        else:
            liq = (collateral + p["avg"] * q * cv) / (q * cv * (1 + mmr + taker))
        closing = sum((o["size"] - o["filled"] for o in acct.live_orders()
                       if o["closing"] and (o["instId"], o["marginMode"], o["positionSide"])
                       == (inst, mm, ps)), Decimal(0))
        available = max(Decimal(0), q - closing) * (1 if p["size"] >= 0 else -1)
        out = {
            "positionId": p["positionId"], "instId": inst, "instType": "SWAP",
            "marginMode": mm, "positionSide": ps, "adl": "1", "positions": plain(p["size"]),
            "availablePositions": plain(available), "averagePrice": d18(p["avg"]),
        }
        if mm == "isolated":  # the isolated example has "margin"; initialMargin is cross only
            out["margin"] = d18(margin)
        out.update({
            "markPrice": plain(mark), "marginRatio": d18(Decimal(ratio)),
            "liquidationPrice": d18(liq) if liq > 0 else "",
            "unrealizedPnl": plain(upl), "unrealizedPnlRatio": d18(upl / margin),
        })
        if mm == "cross":
            out["initialMargin"] = d18(q * mark * cv / lev)
        out.update({
            "maintenanceMargin": plain(maintenance), "realizedPnl": d18(p["realized"]),
            "createTime": str(p["createTime"]), "updateTime": str(p["updateTime"]),
            "leverage": str(lev),
        })
        return out
