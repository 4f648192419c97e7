"""The signed private trading API of the fake BloFin server (stdlib only).

fake_blofin.py builds one Trading around its State, registers Trading.routes()
in its ROUTES, forwards unknown /_control/ paths to Trading.control(), adds
Trading.stats_locked() to /_control/stats, calls Trading.reset_locked() on
/_control/reset and Trading.match_locked() after /_control/tickers.

All account state is guarded by state.lock (the same lock that guards the
tickers and instruments); methods named *_locked expect the caller to hold it,
the others take it themselves. This module never imports fake_blofin (that
file usually runs as __main__, so importing it would build a second State).

Rules (one-way/net mode, USDT-margined linear swaps) are described in
README.md next to this file. All arithmetic uses decimal.Decimal.
"""
import base64
import collections
import hashlib
import hmac
import json
import re
import time
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

TAKER_RATE = Decimal("0.0006")
MAKER_RATE = Decimal("0.0002")
TIMESTAMP_WINDOW_MS = 60_000
NONCE_MEMORY = 10_000
RATE_WINDOW_S = 10.0
DEFAULT_TRADE_LIMIT = 30
DEFAULT_LEVERAGE = 3
AUTH_HEADERS = ("ACCESS-KEY", "ACCESS-SIGN", "ACCESS-TIMESTAMP", "ACCESS-NONCE",
                "ACCESS-PASSPHRASE")
NUMBER_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
INTEGER_RE = re.compile(r"^[0-9]+$")


def envelope(data, code="0", msg="success"):
    return {"code": code, "msg": msg, "data": data}


def now_ms():
    return int(time.time() * 1000)


def fmt(d):
    """Decimal -> plain decimal string, no exponent, "0" for any zero."""
    if d == 0:
        return "0"
    return format(d.normalize(), "f")


def sign(d):
    return (d > 0) - (d < 0)


def signature(secret, prehash):
    """Base64 of the lowercase hex HMAC-SHA256 text (88 characters)."""
    digest = hmac.new(secret.encode("utf-8"), prehash.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(digest.hexdigest().encode("ascii")).decode("ascii")


class Fail(Exception):
    """A whole-request failure: HTTP status plus envelope code and message."""

    def __init__(self, code, msg, status=200):
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


class OrderFail(Exception):
    """A per-order failure (top-level code "1", the reason in data[0])."""

    def __init__(self, code, msg):
        super().__init__(msg)
        self.code, self.msg = code, msg


def param_error(name):
    return Fail("152001", f"Parameter {name} error")


def parse_body(body):
    try:
        obj = json.loads(body.decode("utf-8") if body else "")
    except (ValueError, UnicodeDecodeError):
        raise param_error("body")
    if not isinstance(obj, dict):
        raise param_error("body")
    return obj


def field(req, name, choices=None, required=True, default=None, max_len=None):
    """A string member of a JSON body, validated; raises 152001 naming it."""
    value = req.get(name)
    if value is None or value == "":
        if required:
            raise param_error(name)
        return default
    if not isinstance(value, str):
        raise param_error(name)
    if choices is not None and value not in choices:
        raise param_error(name)
    if max_len is not None and len(value) > max_len:
        raise param_error(name)
    return value


def number_field(req, name, required=True):
    value = field(req, name, required=required)
    if value is None:
        return None
    if not NUMBER_RE.match(value):
        raise param_error(name)
    return Decimal(value)


def query_value(query, name):
    values = query.get(name)
    return values[0] if values and values[0] != "" else None


class Account:
    def __init__(self, api_key, secret, passphrase, balance, instruments):
        self.api_key = api_key
        self.secret = secret
        self.passphrase = passphrase
        self.balance = balance
        self.orders = {}  # orderId (str) -> order dict (Decimals inside)
        self.positions = {}  # instId -> position dict (Decimals inside)
        self.fills = []  # oldest first
        self.leverage = {inst: DEFAULT_LEVERAGE for inst in instruments}
        self.margin_mode = {}  # instId -> marginMode last set by set-leverage
        self.client_ids = set()
        self.nonces = set()
        self.nonce_order = collections.deque()
        self.trade_times = collections.deque()  # monotonic seconds

    def lev(self, inst):
        return self.leverage.get(inst, DEFAULT_LEVERAGE)

    def remember_nonce(self, nonce):
        self.nonces.add(nonce)
        self.nonce_order.append(nonce)
        while len(self.nonce_order) > NONCE_MEMORY:
            self.nonces.discard(self.nonce_order.popleft())


class Trading:
    def __init__(self, state):
        self.state = state
        self.reset_locked()

    # ----------------------------------------------------------- lifecycle

    def reset_locked(self):
        self.accounts = {}
        self.trade_limit = DEFAULT_TRADE_LIMIT
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
            ("POST", "/api/v1/trade/order"): p("POST", self.place_order, rate_limited=True),
            ("POST", "/api/v1/trade/cancel-order"): p("POST", self.cancel_order, rate_limited=True),
            ("GET", "/api/v1/trade/orders-pending"): p("GET", self.orders_pending),
            ("GET", "/api/v1/trade/orders-history"): p("GET", self.orders_history),
            ("GET", "/api/v1/trade/fills-history"): p("GET", self.fills_history),
            ("GET", "/api/v1/account/positions"): p("GET", self.positions),
            ("GET", "/api/v1/account/balance"): p("GET", self.balance),
            ("POST", "/api/v1/account/set-leverage"): p("POST", self.set_leverage),
            ("GET", "/api/v1/account/batch-leverage-info"): p("GET", self.batch_leverage_info),
        }

    # ------------------------------------------------------- control API

    def control(self, method, path, query, body):
        """Handles the trading control paths; None when the path is not one."""
        if method == "POST" and path == "/_control/accounts":
            try:
                req = json.loads(body or b"{}")
                key, secret, phrase = req["apiKey"], req["secret"], req["passphrase"]
                balance = Decimal(str(req.get("balance", "10000")))
                if not all(isinstance(v, str) and v for v in (key, secret, phrase)):
                    raise ValueError("apiKey, secret and passphrase must be non-empty strings")
                if not balance.is_finite():
                    raise ValueError("balance must be a number")
            except (ValueError, KeyError, TypeError, InvalidOperation) as e:
                return 400, {"error": f"bad account: {e!r}"}
            with self.state.lock:
                self.accounts[key] = Account(key, secret, phrase, balance,
                                             list(self.state.instruments))
            return 200, {"ok": True}
        if method == "GET" and path == "/_control/accounts/state":
            key = query_value(parse_qs(query), "apiKey")
            with self.state.lock:
                acct = self.accounts.get(key)
                if acct is None:
                    return 404, {"error": "unknown apiKey"}
                insts = sorted(set(self.state.instruments) | set(acct.leverage))
                return 200, {
                    "balance": fmt(acct.balance),
                    "orders": [self.order_json(o) for o in acct.orders.values()],
                    "positions": [self.position_json_locked(acct, p)
                                  for _, p in sorted(acct.positions.items())],
                    "fills": [self.fill_json(f) for f in acct.fills],
                    "leverage": {inst: str(acct.lev(inst)) for inst in insts},
                }
        if method == "POST" and path == "/_control/limits":
            try:
                req = json.loads(body or b"{}")
                trade = req.get("trade", DEFAULT_TRADE_LIMIT)
                if isinstance(trade, bool) or not isinstance(trade, int) or trade < 0:
                    raise ValueError("trade must be a non-negative integer")
            except (ValueError, AttributeError) as e:
                return 400, {"error": f"bad limits: {e!r}"}
            with self.state.lock:
                self.trade_limit = trade
            return 200, {"ok": True}
        return None

    # ------------------------------------------------------ authentication

    def private(self, method, fn, rate_limited=False):
        """Wraps fn(acct, query, body) -> data with auth, rate limit, envelope."""

        def handler(query, body, headers, raw_path):
            with self.state.lock:
                try:
                    acct = self.authenticate_locked(method, raw_path, headers, body)
                except Fail as f:
                    self.auth_failures[f.code] = self.auth_failures.get(f.code, 0) + 1
                    return f.status, envelope([], code=f.code, msg=f.msg)
                if rate_limited and not self.take_rate_slot_locked(acct):
                    self.rate_limited += 1
                    return 429, envelope([], code="429", msg="Too Many Requests"), {"Retry-After": "1"}
                try:
                    return 200, fn(acct, query, body)
                except Fail as f:
                    return f.status, envelope([], code=f.code, msg=f.msg)
                except Exception as e:  # a bug in the fake: say so instead of hanging up
                    return 500, envelope([], code="500", msg=f"fake_trading error: {e!r}")

        return handler

    def authenticate_locked(self, method, raw_path, headers, body):
        values = {}
        for name in AUTH_HEADERS:
            value = headers.get(name)
            if not value:
                raise Fail("152401", f"Missing header {name}", 401)
            values[name] = value
        acct = self.accounts.get(values["ACCESS-KEY"])
        if acct is None:
            raise Fail("152401", "Access key does not exist", 401)
        if not hmac.compare_digest(values["ACCESS-PASSPHRASE"].encode("utf-8"),
                                   acct.passphrase.encode("utf-8")):
            raise Fail("152403", "Access passphrase is incorrect", 401)
        ts = values["ACCESS-TIMESTAMP"]
        if not INTEGER_RE.match(ts) or abs(int(ts) - now_ms()) > TIMESTAMP_WINDOW_MS:
            raise Fail("152405", "Request timestamp expired", 401)
        nonce = values["ACCESS-NONCE"]
        if nonce in acct.nonces:
            raise Fail("152407", "Nonce already used", 401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Fail("152409", "Signature verification failed", 401)
        expected = signature(acct.secret, raw_path + method.upper() + ts + nonce + text)
        if not hmac.compare_digest(expected.encode("ascii"), values["ACCESS-SIGN"].encode("utf-8")):
            raise Fail("152409", "Signature verification failed", 401)
        acct.remember_nonce(nonce)  # only authenticated requests use up a nonce
        return acct

    def take_rate_slot_locked(self, acct):
        now = time.monotonic()
        times = acct.trade_times
        while times and times[0] <= now - RATE_WINDOW_S:
            times.popleft()
        if len(times) >= self.trade_limit:
            return False
        times.append(now)
        return True

    # ------------------------------------------------------------- margin

    def ticker_locked(self, inst):
        t = self.state.tickers.get(inst)
        if not t:
            return None
        try:
            return {k: Decimal(str(t[k])) for k in ("bid", "ask", "last")}
        except (KeyError, InvalidOperation):
            return None

    def position_margin_locked(self, acct):
        return sum((abs(p["size"]) * p["avg"] * p["cv"] / acct.lev(inst)
                    for inst, p in acct.positions.items()), Decimal(0))

    def order_margin_locked(self, acct):
        return sum((o["size"] * o["price"] * o["cv"] / o["leverage"]
                    for o in acct.orders.values()
                    if o["state"] == "live" and not o["reduceOnly"]), Decimal(0))

    def frozen_locked(self, acct):
        return self.position_margin_locked(acct) + self.order_margin_locked(acct)

    def available_locked(self, acct):
        return acct.balance - self.frozen_locked(acct)

    def unrealized_locked(self, inst, p):
        t = self.ticker_locked(inst)
        mark = t["last"] if t else p["avg"]
        return mark, (mark - p["avg"]) * p["size"] * p["cv"]

    # -------------------------------------------------------------- orders

    def place_order(self, acct, query, body):
        req = parse_body(body)
        inst = field(req, "instId")
        margin_mode = field(req, "marginMode", ("cross", "isolated"))
        field(req, "positionSide", ("net",), required=False, default="net")
        side = field(req, "side", ("buy", "sell"))
        order_type = field(req, "orderType", ("market", "limit"))
        price = number_field(req, "price") if order_type == "limit" else Decimal(0)
        size = number_field(req, "size")
        reduce_only = field(req, "reduceOnly", ("true", "false"), required=False,
                            default="false") == "true"
        cid = field(req, "clientOrderId", required=False, default="", max_len=32)
        spec = self.state.instruments.get(inst)
        if spec is None:
            raise Fail("152002", f"Instrument {inst} does not exist")
        try:
            order = self.new_order_locked(acct, inst, spec, margin_mode, side, order_type,
                                          price, size, reduce_only, cid)
        except OrderFail as f:
            return envelope([{"orderId": None, "clientOrderId": cid, "code": f.code,
                              "msg": f.msg}], code="1", msg="All operations failed")
        return envelope([{"orderId": order["orderId"], "clientOrderId": cid, "code": "0",
                          "msg": "success"}])

    def new_order_locked(self, acct, inst, spec, margin_mode, side, order_type, price, size,
                         reduce_only, cid):
        cv = Decimal(spec["contractValue"])
        lot, min_size, tick = (Decimal(spec[k]) for k in ("lotSize", "minSize", "tickSize"))
        if size <= 0 or size % lot != 0 or size < min_size:
            raise OrderFail("102014", f"Order size {fmt(size)} must be a positive multiple of "
                                      f"lotSize {fmt(lot)} and at least minSize {fmt(min_size)}")
        if order_type == "limit" and (price <= 0 or price % tick != 0):
            raise OrderFail("102015", f"Order price {fmt(price)} must be a positive multiple "
                                      f"of tickSize {fmt(tick)}")
        if cid and cid in acct.client_ids:
            raise OrderFail("102050", f"Duplicate clientOrderId {cid}")

        ticker = self.ticker_locked(inst)
        fill_price = None  # set when the order fills on arrival (taker)
        if ticker is not None:
            touch = ticker["ask"] if side == "buy" else ticker["bid"]
            if order_type == "market":
                fill_price = touch
            elif (side == "buy" and touch <= price) or (side == "sell" and touch >= price):
                fill_price = touch
        if order_type == "market" and fill_price is None:
            raise OrderFail("102002", f"No market price for {inst}")

        delta = size if side == "buy" else -size
        pos = acct.positions.get(inst)
        cur = pos["size"] if pos else Decimal(0)
        if reduce_only:
            if cur == 0 or sign(cur) == sign(delta):
                raise OrderFail("102036", "Reduce-only order would increase position")
            size = min(size, abs(cur))
            increasing = Decimal(0)
        elif cur == 0 or sign(cur) == sign(delta):
            increasing = size
        else:
            increasing = max(Decimal(0), size - abs(cur))

        lev = acct.lev(inst)
        if increasing > 0:
            margin_price = fill_price if fill_price is not None else price
            required = increasing * margin_price * cv / lev
            available = self.available_locked(acct)
            if required > available:
                raise OrderFail("103003", f"Insufficient margin: requires {fmt(required)} USDT, "
                                          f"available {fmt(available)} USDT")

        now = now_ms()
        order = {
            "orderId": str(self.next_order_id), "clientOrderId": cid, "instId": inst,
            "marginMode": margin_mode, "side": side, "orderType": order_type, "price": price,
            "size": size, "reduceOnly": reduce_only, "leverage": Decimal(lev), "state": "live",
            "filledSize": Decimal(0), "averagePrice": Decimal(0), "fee": Decimal(0),
            "pnl": Decimal(0), "createTime": now, "updateTime": now, "cv": cv,
        }
        self.next_order_id += 1
        acct.orders[order["orderId"]] = order
        if cid:
            acct.client_ids.add(cid)
        if fill_price is not None:
            self.fill_locked(acct, order, fill_price, size, TAKER_RATE)
        return order

    def fill_locked(self, acct, order, price, size, rate):
        notional = price * size * order["cv"]
        fee = notional * rate
        delta = size if order["side"] == "buy" else -size
        pnl = self.apply_position_locked(acct, order, delta, price)
        acct.balance += pnl - fee
        now = now_ms()
        order.update(state="filled", filledSize=size, averagePrice=price, fee=fee, pnl=pnl,
                     updateTime=now)
        acct.fills.append({
            "instId": order["instId"], "tradeId": str(self.next_trade_id),
            "orderId": order["orderId"], "clientOrderId": order["clientOrderId"],
            "fillPrice": price, "fillSize": size, "side": order["side"], "fee": fee, "ts": now,
        })
        self.next_trade_id += 1

    def apply_position_locked(self, acct, order, delta, price):
        """Nets a fill into the position; returns the realized pnl."""
        inst, now = order["instId"], now_ms()
        pos = acct.positions.get(inst)
        cur = pos["size"] if pos else Decimal(0)
        if cur == 0 or sign(cur) == sign(delta):
            if pos is None:
                pos = self.new_position_locked(acct, order, Decimal(0), price, now)
            total = abs(cur) + abs(delta)
            pos["avg"] = (pos["avg"] * abs(cur) + price * abs(delta)) / total
            pos["size"] = cur + delta
            pos["updateTime"] = now
            return Decimal(0)
        closed = min(abs(cur), abs(delta))
        pnl = (price - pos["avg"]) * closed * pos["cv"] * sign(cur)
        rest = cur + delta
        if rest == 0:
            del acct.positions[inst]
        elif sign(rest) == sign(cur):
            pos["size"] = rest
            pos["updateTime"] = now
        else:  # flipped: the remainder opens a new position at the fill price
            self.new_position_locked(acct, order, rest, price, now)
        return pnl

    def new_position_locked(self, acct, order, size, price, now):
        pos = {"positionId": str(self.next_position_id), "instId": order["instId"],
               "size": size, "avg": price,
               "cv": order["cv"], "marginMode": order["marginMode"], "createTime": now,
               "updateTime": now}
        self.next_position_id += 1
        acct.positions[order["instId"]] = pos
        return pos

    def match_locked(self):
        """Fills resting limit orders of every account the tickers now cross (maker)."""
        live = sorted(((int(o["orderId"]), acct, o) for acct in self.accounts.values()
                       for o in acct.orders.values() if o["state"] == "live"),
                      key=lambda x: x[0])
        for _, acct, order in live:
            ticker = self.ticker_locked(order["instId"])
            if ticker is None:
                continue
            if order["side"] == "buy":
                crosses = ticker["ask"] <= order["price"]
            else:
                crosses = ticker["bid"] >= order["price"]
            if not crosses:
                continue
            size = order["size"]
            if order["reduceOnly"]:
                pos = acct.positions.get(order["instId"])
                cur = pos["size"] if pos else Decimal(0)
                delta = size if order["side"] == "buy" else -size
                if cur == 0 or sign(cur) == sign(delta):
                    order.update(state="canceled", updateTime=now_ms())
                    continue
                size = min(size, abs(cur))
                order["size"] = size
            self.fill_locked(acct, order, order["price"], size, MAKER_RATE)

    def cancel_order(self, acct, query, body):
        req = parse_body(body)
        oid = field(req, "orderId", required=False)
        cid = field(req, "clientOrderId", required=False)
        inst = field(req, "instId", required=False)
        if oid is None and cid is None:
            raise param_error("orderId")
        order = None
        if oid is not None:
            order = acct.orders.get(oid)
            if order is not None and cid is not None and order["clientOrderId"] != cid:
                order = None
        else:
            order = next((o for o in acct.orders.values() if o["clientOrderId"] == cid), None)
        if order is not None and inst is not None and order["instId"] != inst:
            order = None
        if order is None or order["state"] != "live":
            return envelope([{"orderId": oid, "clientOrderId": cid or "", "code": "102041",
                              "msg": "Order does not exist or is already complete"}],
                            code="1", msg="All operations failed")
        order.update(state="canceled", updateTime=now_ms())
        return envelope([{"orderId": order["orderId"], "clientOrderId": order["clientOrderId"],
                          "code": "0", "msg": "success"}])

    def select_orders(self, acct, query, states):
        inst = query_value(query, "instId")
        oid = query_value(query, "orderId")
        cid = query_value(query, "clientOrderId")
        out = []
        for order in sorted(acct.orders.values(), key=lambda o: -int(o["orderId"])):
            if order["state"] not in states:
                continue
            if (inst and order["instId"] != inst) or (oid and order["orderId"] != oid) or \
                    (cid and order["clientOrderId"] != cid):
                continue
            out.append(self.order_json(order))
        return out

    def orders_pending(self, acct, query, body):
        return envelope(self.select_orders(acct, query, ("live", "partially_filled")))

    def orders_history(self, acct, query, body):
        return envelope(self.select_orders(acct, query, ("filled", "canceled")))

    def fills_history(self, acct, query, body):
        inst = query_value(query, "instId")
        oid = query_value(query, "orderId")
        return envelope([self.fill_json(f) for f in reversed(acct.fills)
                         if not (inst and f["instId"] != inst)
                         and not (oid and f["orderId"] != oid)])

    # ------------------------------------------------------------- account

    def positions(self, acct, query, body):
        inst = query_value(query, "instId")
        return envelope([self.position_json_locked(acct, p)
                         for i, p in sorted(acct.positions.items()) if not inst or i == inst])

    def balance(self, acct, query, body):
        upl = sum((self.unrealized_locked(i, p)[1] for i, p in acct.positions.items()),
                  Decimal(0))
        frozen = self.frozen_locked(acct)
        equity = acct.balance + upl
        return envelope({
            "ts": str(now_ms()), "totalEquity": fmt(equity), "isolatedEquity": "0",
            "details": [{
                "currency": "USDT", "equity": fmt(equity), "balance": fmt(acct.balance),
                "available": fmt(acct.balance - frozen), "frozen": fmt(frozen),
                "unrealizedPnl": fmt(upl), "isolatedEquity": "0",
            }],
        })

    def set_leverage(self, acct, query, body):
        req = parse_body(body)
        inst = field(req, "instId")
        lev = req.get("leverage")
        if isinstance(lev, int) and not isinstance(lev, bool):
            lev = str(lev)
        if not isinstance(lev, str) or not INTEGER_RE.match(lev):
            raise param_error("leverage")
        margin_mode = field(req, "marginMode", ("cross", "isolated"))
        spec = self.state.instruments.get(inst)
        if spec is None:
            raise Fail("152002", f"Instrument {inst} does not exist")
        if not 1 <= int(lev) <= int(Decimal(spec.get("maxLeverage", "100"))):
            raise param_error("leverage")
        acct.leverage[inst] = int(lev)
        acct.margin_mode[inst] = margin_mode
        return envelope({"instId": inst, "leverage": str(int(lev)), "marginMode": margin_mode})

    def batch_leverage_info(self, acct, query, body):
        insts = query_value(query, "instId")
        if not insts:
            raise param_error("instId")
        margin_mode = query_value(query, "marginMode") or "cross"
        if margin_mode not in ("cross", "isolated"):
            raise param_error("marginMode")
        out = []
        for inst in insts.split(","):
            if inst not in self.state.instruments:
                raise Fail("152002", f"Instrument {inst} does not exist")
            out.append({"instId": inst, "leverage": str(acct.lev(inst)),
                        "marginMode": margin_mode})
        return envelope(out)

    # --------------------------------------------------------------- JSON

    @staticmethod
    def order_json(o):
        return {
            "orderId": o["orderId"], "clientOrderId": o["clientOrderId"], "instId": o["instId"],
            "marginMode": o["marginMode"], "positionSide": "net", "side": o["side"],
            "orderType": o["orderType"], "price": fmt(o["price"]), "size": fmt(o["size"]),
            "reduceOnly": "true" if o["reduceOnly"] else "false", "leverage": fmt(o["leverage"]),
            "state": o["state"], "filledSize": fmt(o["filledSize"]),
            "averagePrice": fmt(o["averagePrice"]), "fee": fmt(o["fee"]), "pnl": fmt(o["pnl"]),
            "createTime": str(o["createTime"]), "updateTime": str(o["updateTime"]),
        }

    @staticmethod
    def fill_json(f):
        return {
            "instId": f["instId"], "tradeId": f["tradeId"], "orderId": f["orderId"],
            "clientOrderId": f["clientOrderId"], "fillPrice": fmt(f["fillPrice"]),
            "fillSize": fmt(f["fillSize"]), "side": f["side"], "positionSide": "net",
            "fee": fmt(f["fee"]), "ts": str(f["ts"]),
        }

    def position_json_locked(self, acct, p):
        inst = p["instId"]
        mark, upl = self.unrealized_locked(inst, p)
        return {
            "positionId": p["positionId"], "instId": inst, "instType": "SWAP",
            "marginMode": p["marginMode"], "positionSide": "net", "positions": fmt(p["size"]),
            "availablePositions": fmt(p["size"]), "averagePrice": fmt(p["avg"]),
            "markPrice": fmt(mark), "unrealizedPnl": fmt(upl), "leverage": str(acct.lev(inst)),
            "createTime": str(p["createTime"]), "updateTime": str(p["updateTime"]),
        }
