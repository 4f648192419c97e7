#!/usr/bin/env python3
"""A local BloFin REST v1 server for xctl's tests (Python 3 stdlib only).

A copy of BloFin's published documentation (shared/blofin/index.md and
errors.md beside the repository), not of xctl's client: public market data,
the signed private API (fake_trading.py), BloFin's rate limits and firewall,
plus a control API (/_control/) for tests to set prices, accounts, limits and
faults and to read what was asked. Listens on 127.0.0.1 only. See README.md.

    python3 fake_blofin.py --port 0 --port-file /tmp/port
"""
import argparse
import collections
import json
import os
import re
import threading
import time
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlsplit

import fake_trading  # the signed private API (same folder)
from fake_trading import Fail, envelope, error_envelope, plain

DEFAULT_TICKERS = {
    "BTC-USDT": {"bid": "64000", "ask": "64000.5", "last": "64000.2"},
    "ETH-USDT": {"bid": "3200", "ask": "3200.1", "last": "3200.05"},
    "SOL-USDT": {"bid": "150", "ask": "150.01", "last": "150.005"},
}
DEFAULT_TOUCH_SIZE = "10"  # askSize / bidSize in contracts unless a ticker says otherwise

# index.md, GET Instruments: every documented field.
DEFAULT_INSTRUMENTS = {
    "BTC-USDT": {"contractValue": "0.001", "lotSize": "0.1", "minSize": "0.1",
                 "tickSize": "0.1", "maxLeverage": "150", "maxLimitSize": "100000",
                 "maxMarketSize": "10000"},
    "ETH-USDT": {"contractValue": "0.01", "lotSize": "0.1", "minSize": "0.1",
                 "tickSize": "0.01", "maxLeverage": "150", "maxLimitSize": "100000",
                 "maxMarketSize": "10000"},
    "SOL-USDT": {"contractValue": "1", "lotSize": "1", "minSize": "1", "tickSize": "0.001",
                 "maxLeverage": "75", "maxLimitSize": "100000", "maxMarketSize": "10000"},
}
INSTRUMENT_FIELDS = ("instId", "baseCurrency", "quoteCurrency", "contractValue", "listTime",
                     "expireTime", "maxLeverage", "minSize", "lotSize", "tickSize", "instType",
                     "contractType", "maxLimitSize", "maxMarketSize", "state", "settleCurrency")
DEFAULT_FUNDING_RATE = "0.0001"
FUNDING_PERIOD_MS = 8 * 3600 * 1000

DEFAULT_SETTINGS = {
    "envelope": "success",  # per-order rejections: "success" (code 0) | "errors_md" (code 1)
    "duplicate_scope": "live",  # clientOrderId refused while "live" | for "all" orders
    "taker_fee": Decimal("0.0006"),
    "maker_fee": Decimal("0.0002"),
    "unfilled_average_price": "empty",  # averagePrice of an unfilled order: "" | "zeros"
    "price_band": None,  # e.g. "0.05": limit prices beyond last +-5% refused (102064/102065)
}
SETTING_CHOICES = {
    "envelope": ("success", "errors_md"),
    "duplicate_scope": ("live", "all"),
    "unfilled_average_price": ("empty", "zeros"),
}
# index.md, Rate Limits / REST API Limits and Network Firewall Restrictions.
DEFAULT_LIMITS = {
    "trade": 30, "trade_window_ms": 10_000, "trade_scope": "trade",
    "ip": 500, "ip_window_ms": 60_000, "ip_ban_ms": 300_000,
    "ip_long": 1500, "ip_long_window_ms": 300_000, "ip_long_ban_ms": 3_600_000,
}
LIMIT_COUNTS = ("trade", "ip", "ip_long")  # integer >= 0, or null = no limit
LIMIT_TIMES = ("trade_window_ms", "ip_window_ms", "ip_ban_ms", "ip_long_window_ms",
               "ip_long_ban_ms")  # integer > 0
TRADE_SCOPES = ("trade", "orders", "private")

FAULT_KINDS = ("http_500", "http_403", "http_429", "code", "malformed", "partial", "timeout",
               "drop", "before_timeout")
FORBIDDEN_BODY = (b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
                  b"<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n")
REQUEST_LOG_MAX = 100_000
NUMBER_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def now_ms():
    return int(time.time() * 1000)


class State:
    """Everything the server knows; one lock guards it all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.tickers = {}
        self.touch = {}
        self.set_tickers({k: dict(v) for k, v in DEFAULT_TICKERS.items()})
        self.instruments = {}
        for inst, spec in DEFAULT_INSTRUMENTS.items():
            self.instruments[inst] = self.full_instrument(inst, spec)
        self.funding = {}  # instId -> {"fundingRate", "fundingTime"} set by control
        self.funding_history = {}  # instId -> [{"fundingRate", "fundingTime"}] set by control
        self.settings = dict(DEFAULT_SETTINGS)
        self.limits = dict(DEFAULT_LIMITS)
        self.faults = {}  # path -> list of fault dicts, consumed in order
        self.requests = {}  # "METHOD /path" -> count
        self.log = collections.deque(maxlen=REQUEST_LOG_MAX)
        self.seq = 0
        self.ip_times = {}  # client ip -> deque of monotonic seconds
        self.ip_banned_until = {}  # client ip -> monotonic seconds
        self.ip_limited = 0
        self.ip_bans = 0
        self.faults_applied = 0

    @staticmethod
    def full_instrument(inst, spec):
        base, _, quote = inst.partition("-")
        out = {"instId": inst, "baseCurrency": base, "quoteCurrency": quote,
               "listTime": "1600000000000", "expireTime": "4102444800000",
               "maxLimitSize": "100000", "maxMarketSize": "10000", "instType": "SWAP",
               "contractType": "linear", "state": "live", "settleCurrency": quote}
        out.update(spec)
        return out

    def set_tickers(self, update):
        """Replaces all tickers; raises ValueError on a bad one."""
        tickers, touch = {}, {}
        for inst, t in update.items():
            if not isinstance(t, dict) or "last" not in t:
                raise ValueError(f"{inst}: a ticker needs at least \"last\"")
            row = {"last": t["last"], "bid": t.get("bid", t["last"]),
                   "ask": t.get("ask", t["last"]), "mark": t.get("mark", t["last"]),
                   "bidSize": t.get("bidSize", DEFAULT_TOUCH_SIZE),
                   "askSize": t.get("askSize", DEFAULT_TOUCH_SIZE),
                   "lastSize": t.get("lastSize", "1")}
            for k, v in row.items():
                if not isinstance(v, str) or not NUMBER_RE.match(v):
                    raise ValueError(f"{inst}.{k}: a decimal string, not {v!r}")
            tickers[inst] = row
            touch[inst] = {"ask": Decimal(row["askSize"]), "bid": Decimal(row["bidSize"])}
        self.tickers, self.touch = tickers, touch

    def position_tiers(self, inst):
        """index.md, GET Position Tiers (the fake's own tiers, in contracts)."""
        spec = self.instruments[inst]
        lev = int(Decimal(spec["maxLeverage"]))
        rows = [(spec["minSize"], "10000", "0.004", lev),
                ("10000", "50000", "0.01", max(1, lev // 3)),
                ("50000", "200000", "0.025", max(1, lev // 10))]
        return [{"minSize": Decimal(a), "maxSize": Decimal(b),
                 "maintenanceMarginRate": Decimal(c), "maxLeverage": Decimal(d)}
                for a, b, c, d in rows]

    def funding_rate(self, inst):
        row = self.funding.get(inst, {})
        next_time = (now_ms() // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS
        return {"instId": inst, "fundingRate": row.get("fundingRate", DEFAULT_FUNDING_RATE),
                "fundingTime": row.get("fundingTime", str(next_time))}

    def take_fault(self, path):
        queue = self.faults.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault["count"] -= 1
        if fault["count"] <= 0:
            queue.pop(0)
        self.faults_applied += 1
        return dict(fault)

    def ip_refused(self, ip):
        """index.md, REST API Limits: 500 requests per minute per IP (then 5
        minutes suspended) and 1500 per 5 minutes (then 1 hour); index.md,
        Network Firewall Restrictions: the refusal is HTTP 403. Every request
        counts, including those refused during a ban (docs silent)."""
        now = time.monotonic()
        times = self.ip_times.setdefault(ip, collections.deque())
        times.append(now)
        longest = max(self.limits["ip_window_ms"], self.limits["ip_long_window_ms"]) / 1000
        while times and times[0] <= now - longest:
            times.popleft()
        if self.ip_banned_until.get(ip, 0) > now:
            return True
        for limit, window, ban in (("ip", "ip_window_ms", "ip_ban_ms"),
                                   ("ip_long", "ip_long_window_ms", "ip_long_ban_ms")):
            n = self.limits[limit]
            if n is None:
                continue
            start = now - self.limits[window] / 1000
            if sum(1 for t in times if t > start) > n:
                self.ip_banned_until[ip] = now + self.limits[ban] / 1000
                self.ip_bans += 1
                return True
        return False


STATE = State()
TRADING = fake_trading.Trading(STATE)
WS = None  # fake_ws.PublicWs with --ws-port-file (needs PyPI's websockets)


def control_tickers(req):
    """Replaces the tickers; the WebSocket pushes the ones that changed."""
    old = STATE.tickers
    STATE.set_tickers(req)
    TRADING.on_tickers_locked()
    if WS is not None:
        WS.on_tickers([i for i, t in STATE.tickers.items() if old.get(i) != t])
        if WS.private is not None:
            WS.private.notify_locked()


def notify_private():
    """Pushes on /ws/private what changed in trading state (fake_ws_private.py)."""
    if WS is not None and WS.private is not None:
        WS.private.notify()


# ------------------------------------------------------------ public endpoints

def known_inst(query):
    """instId filter of the public endpoints; an unknown instrument is refused
    with 152014 (docs silent; errors.md "Instrument ID does not exist")."""
    inst = fake_trading.query_value(query, "instId")
    if inst is not None and inst not in STATE.instruments:
        raise Fail("152014")
    return inst


def instruments(query):
    """index.md, GET Instruments: instId optional."""
    inst = known_inst(query)
    return envelope([{k: spec[k] for k in INSTRUMENT_FIELDS}
                     for name, spec in sorted(STATE.instruments.items())
                     if inst is None or name == inst])


def tickers(query):
    """index.md, GET Tickers: instId optional."""
    inst = known_inst(query)
    out = []
    for name, t in sorted(STATE.tickers.items()):
        if inst is not None and name != inst:
            continue
        out.append({
            "instId": name, "last": t["last"], "lastSize": t["lastSize"],
            "askPrice": t["ask"], "askSize": t["askSize"], "bidPrice": t["bid"],
            "bidSize": t["bidSize"], "high24h": t["last"], "open24h": t["last"],
            "low24h": t["last"], "volCurrency24h": "100", "vol24h": "100000",
            "ts": str(now_ms()),
        })
    return envelope(out)


def funding_rate(query):
    """index.md, GET Funding Rate: instId optional."""
    inst = known_inst(query)
    return envelope([STATE.funding_rate(name) for name in sorted(STATE.instruments)
                     if inst is None or name == inst])


def funding_rate_history(query):
    """index.md, GET Funding Rate History: instId required; before = newer
    than that fundingTime, after = earlier; limit at most 100 (default 100).
    Newest first (docs silent on the order; the client sorts)."""
    inst = fake_trading.query_value(query, "instId")
    if inst is None:
        raise Fail("152001", "instId")
    if inst not in STATE.instruments:
        raise Fail("152014")
    rows = sorted(STATE.funding_history.get(inst, []), key=lambda r: -int(r["fundingTime"]))
    before = fake_trading.query_value(query, "before")
    after = fake_trading.query_value(query, "after")
    limit = fake_trading.query_value(query, "limit") or "100"
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise Fail("152002", "limit")
    if before is not None:
        rows = [r for r in rows if int(r["fundingTime"]) > int(before)]
        rows = rows[-int(limit):]  # the ones just newer than `before`
    if after is not None:
        rows = [r for r in rows if int(r["fundingTime"]) < int(after)]
    return envelope([{"instId": inst, "fundingRate": r["fundingRate"],
                      "fundingTime": r["fundingTime"]} for r in rows[:int(limit)]])


def position_tiers(query):
    """index.md, GET Position Tiers: instId and marginMode required."""
    inst = fake_trading.query_value(query, "instId")
    if inst is None:
        raise Fail("152001", "instId")
    margin_mode = fake_trading.query_value(query, "marginMode")
    if margin_mode is None:
        raise Fail("152001", "marginMode")
    if margin_mode not in fake_trading.MARGIN_MODES:
        raise Fail("152002", "marginMode")
    if inst not in STATE.instruments:
        raise Fail("152014")
    return envelope([{"symbol": inst, "marginMode": margin_mode, "minSize": plain(t["minSize"]),
                      "maxSize": plain(t["maxSize"]),
                      "maintenanceMarginRate": plain(t["maintenanceMarginRate"]),
                      "maxLeverage": plain(t["maxLeverage"])}
                     for t in STATE.position_tiers(inst)])


PUBLIC_ROUTES = {
    ("GET", "/api/v1/market/instruments"): instruments,
    ("GET", "/api/v1/market/tickers"): tickers,
    ("GET", "/api/v1/market/funding-rate"): funding_rate,
    ("GET", "/api/v1/market/funding-rate-history"): funding_rate_history,
    ("GET", "/api/v1/market/position-tiers"): position_tiers,
}
# handler(path, query, body_bytes, headers, raw_target) -> (status, json[, headers])
PRIVATE_ROUTES = TRADING.routes()
KNOWN_PATHS = {p for _, p in PUBLIC_ROUTES} | {p for _, p in PRIVATE_ROUTES}


def execute(method, path, query, body, headers, target):
    """Answers one BloFin request: (status, json object, extra headers)."""
    handler = PUBLIC_ROUTES.get((method, path))
    if handler:
        with STATE.lock:
            try:
                return 200, handler(query), None
            except Fail as f:
                return f.status, envelope(None, code=f.code, msg=f.msg), None
    handler = PRIVATE_ROUTES.get((method, path))
    if handler:
        status, obj, *extra = handler(path, query, body, headers, target)
        notify_private()  # may reach the client before this answer
        return status, obj, extra[0] if extra else None
    # errors.md: 404 "not found" and 405 "Method Not Allowed", both HTTP 200.
    if path in KNOWN_PATHS:
        return 200, error_envelope("405"), None
    return 200, error_envelope("404"), None


# ------------------------------------------------------------------ control API

def parse_json_object(body):
    obj = json.loads(body or b"{}")
    if not isinstance(obj, dict):
        raise ValueError("the body must be a JSON object")
    return obj


def control_settings(req):
    new = dict(STATE.settings)
    for key, value in req.items():
        if key not in DEFAULT_SETTINGS:
            raise ValueError(f"unknown setting {key!r}")
        if key in SETTING_CHOICES:
            if value not in SETTING_CHOICES[key]:
                raise ValueError(f"{key} must be one of {SETTING_CHOICES[key]}")
            new[key] = value
        elif key == "price_band" and value is None:
            new[key] = None
        else:
            if not isinstance(value, str) or not NUMBER_RE.match(value):
                raise ValueError(f"{key} must be a decimal string")
            new[key] = Decimal(value)
    STATE.settings = new


def control_limits(req):
    new = dict(STATE.limits)
    for key, value in req.items():
        if key == "clear_bans":
            continue
        if key not in DEFAULT_LIMITS:
            raise ValueError(f"unknown limit {key!r}")
        if key == "trade_scope":
            if value not in TRADE_SCOPES:
                raise ValueError(f"trade_scope must be one of {TRADE_SCOPES}")
        elif isinstance(value, bool) or not (isinstance(value, int) or
                                              (value is None and key in LIMIT_COUNTS)):
            raise ValueError(f"{key} must be an integer" + (" or null" if key in LIMIT_COUNTS
                                                             else ""))
        elif value is not None and (value < 0 or (key in LIMIT_TIMES and value == 0)):
            raise ValueError(f"{key} is out of range")
        new[key] = value
    STATE.limits = new
    if req.get("clear_bans"):
        STATE.ip_times.clear()
        STATE.ip_banned_until.clear()


def control_instruments(req):
    new = {k: dict(v) for k, v in STATE.instruments.items()}
    for inst, fields in req.items():
        if not isinstance(fields, dict):
            raise ValueError(f"{inst}: an object of instrument fields")
        bad = [k for k in fields if k not in INSTRUMENT_FIELDS or k == "instId"]
        if bad or not all(isinstance(v, str) for v in fields.values()):
            raise ValueError(f"{inst}: unknown or non-string fields {bad}")
        if fields.get("state", "live") not in ("live", "suspend"):
            raise ValueError("state must be live or suspend")
        if inst not in new:
            need = ("contractValue", "lotSize", "minSize", "tickSize", "maxLeverage")
            if any(k not in fields for k in need):
                raise ValueError(f"a new instrument needs {need}")
            new[inst] = State.full_instrument(inst, fields)
        else:
            new[inst].update(fields)
        for k in ("contractValue", "lotSize", "minSize", "tickSize", "maxLeverage",
                  "maxLimitSize", "maxMarketSize"):
            Decimal(new[inst][k])
    STATE.instruments = new


def control_funding(req):
    for inst, row in req.items():
        if not isinstance(row, dict) or any(k not in ("fundingRate", "fundingTime") or
                                            not isinstance(v, str) for k, v in row.items()):
            raise ValueError(f"{inst}: {{\"fundingRate\": \"..\", \"fundingTime\": \"..\"}}")
        STATE.funding[inst] = dict(row)


def control_funding_history(req):
    for inst, rows in req.items():
        if not isinstance(rows, list) or not all(
                isinstance(r, dict) and set(r) == {"fundingRate", "fundingTime"} and
                all(isinstance(v, str) for v in r.values()) for r in rows):
            raise ValueError(f"{inst}: [{{\"fundingRate\": \"..\", \"fundingTime\": \"..\"}}]")
        STATE.funding_history[inst] = [dict(r) for r in rows]


def public_settings():
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in STATE.settings.items()}


def control(method, path, query, body):
    """(status, json) of a /_control/ request."""
    posts = {"/_control/tickers": control_tickers,
             "/_control/settings": control_settings,
             "/_control/limits": control_limits,
             "/_control/instruments": control_instruments,
             "/_control/funding-rate": control_funding,
             "/_control/funding-history": control_funding_history}
    if method == "POST" and path in posts:
        try:
            req = parse_json_object(body)
            with STATE.lock:
                posts[path](req)
        except (ValueError, TypeError, KeyError, InvalidOperation, AttributeError) as e:
            return 400, {"error": f"{path}: {e}"}
        return 200, {"ok": True}
    if method == "POST" and path == "/_control/faults":
        try:
            fault = parse_json_object(body)
            if not isinstance(fault.get("path"), str) or fault.get("kind") not in FAULT_KINDS:
                raise ValueError(f"needs \"path\" and \"kind\" (one of {FAULT_KINDS})")
            fault.setdefault("count", 1)
        except ValueError as e:
            return 400, {"error": f"faults: {e}"}
        with STATE.lock:
            STATE.faults.setdefault(fault["path"], []).append(fault)
        return 200, {"ok": True}
    if method == "POST" and path == "/_control/reset":
        with STATE.lock:
            STATE.reset()
            TRADING.reset_locked()
        if WS is not None:
            WS.reset_all()
        return 200, {"ok": True}
    if path == "/_control/ws":
        if WS is None:
            return 404, {"error": "the WebSocket endpoint is off (start with --ws-port-file)"}
        try:
            req = parse_json_object(body) if method == "POST" else {}
        except ValueError as e:
            return 400, {"error": f"ws: {e}"}
        return WS.control(method, req)
    if method == "GET" and path == "/_control/stats":
        with STATE.lock:
            return 200, {"requests": dict(STATE.requests), **TRADING.stats_locked(),
                         "ip_limited": STATE.ip_limited, "ip_bans": STATE.ip_bans,
                         "faults": STATE.faults_applied}
    if method == "GET" and path == "/_control/requests":
        want = parse_qs(query).get("path", [None])[0]
        with STATE.lock:
            return 200, {"requests": [dict(e) for e in STATE.log
                                      if want is None or e["path"] == want]}
    if method == "GET" and path == "/_control/settings":
        with STATE.lock:
            return 200, public_settings()
    if method == "GET" and path == "/_control/limits":
        with STATE.lock:
            return 200, dict(STATE.limits)
    answer = TRADING.control(method, path, query, body)
    return answer or (404, {"error": f"unknown control path {method} {path}"})


# ------------------------------------------------------------------ HTTP server

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as BloFin does
    disable_nagle_algorithm = True  # headers and body go out at once

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_body(self, status, body, content_type="application/json", headers=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client went away (e.g. after a timeout fault)
            self.close_connection = True

    def send_json(self, status, obj, headers=None):
        self.send_body(status, json.dumps(obj).encode(), headers=headers)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def dispatch(self, method):
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path.startswith("/_control/"):
            status, obj = control(method, url.path, url.query, body)
            return self.send_json(status, obj)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        entry = {"method": method, "path": url.path, "target": self.path,
                 "query": {}, "query_pairs": [[k, v] for k, v in pairs],
                 "body": body.decode("utf-8", "replace"), "time": now_ms(),
                 "headers": {k: v for k, v in self.headers.items()
                             if k.upper().startswith("ACCESS-") or k.lower() == "content-type"},
                 "status": None, "code": None, "fault": None}
        for k, v in pairs:
            entry["query"].setdefault(k, v)
        with STATE.lock:
            STATE.seq += 1
            entry["seq"] = STATE.seq
            STATE.log.append(entry)
            key = f"{method} {url.path}"
            STATE.requests[key] = STATE.requests.get(key, 0) + 1
            banned = STATE.ip_refused(self.client_address[0])
            if banned:
                STATE.ip_limited += 1
            fault = None if banned else STATE.take_fault(url.path)
        if banned:
            entry["status"] = 403
            return self.send_body(403, FORBIDDEN_BODY, "text/html")
        if fault:
            entry["fault"] = fault["kind"]
            if self.apply_fault(fault, entry):
                return
        status, obj, headers = execute(method, url.path, parse_qs(url.query), body,
                                       self.headers, self.path)
        entry["status"], entry["code"] = status, obj.get("code")
        if fault and fault["kind"] == "drop":  # executed; the answer is lost
            self.close_connection = True
            return
        if fault and fault["kind"] == "timeout":  # executed; the answer comes late
            time.sleep(fault.get("delay_ms", 3000) / 1000)
        self.send_json(status, obj, headers)

    def apply_fault(self, fault, entry):
        """Faults that answer instead of executing; True when done."""
        kind = fault["kind"]
        if kind in ("timeout", "drop"):
            return False  # executed first, see dispatch
        entry["status"] = {"http_500": 500, "http_403": 403, "http_429": 429}.get(kind, 200)
        if kind == "before_timeout":  # nothing happens: a delay, then no answer
            time.sleep(fault.get("delay_ms", 3000) / 1000)
            entry["status"] = None
            self.close_connection = True
        elif kind == "http_500":
            self.send_body(500, b"Internal Server Error", "text/plain")
        elif kind == "http_403":  # what BloFin's firewall sends
            self.send_body(403, FORBIDDEN_BODY, "text/html")
        elif kind == "http_429":
            self.send_json(429, error_envelope("429"),
                           headers={"Retry-After": str(fault.get("retry_after", 1))})
        elif kind == "code":
            entry["code"] = str(fault.get("code", "152002"))
            self.send_json(200, envelope(None, code=entry["code"],
                                         msg=fault.get("msg", "Parameter error.")))
        elif kind == "malformed":
            self.send_body(200, b"<html>this is not json</html>")
        elif kind == "partial":
            with STATE.lock:
                full = json.dumps(tickers({})).encode()
            self.send_body(200, full[: len(full) // 2])
        return True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main():
    global WS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--ws-port", type=int, default=0)
    parser.add_argument("--ws-port-file", help="also serve the public WebSocket (fake_ws.py)")
    args = parser.parse_args()
    if args.ws_port_file:
        import fake_ws  # PyPI's websockets: only when asked for
        import fake_ws_private
        WS = fake_ws.PublicWs(STATE, fake_ws_private.PrivateWs(STATE, TRADING))
        write_port(args.ws_port_file, WS.start(args.ws_port))
    ThreadingHTTPServer.request_queue_size = 128  # many test clients connect at once
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.port_file:
        write_port(args.port_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
