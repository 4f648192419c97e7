#!/usr/bin/env python3
"""A local BloFin-compatible REST server for xctl's tests (stdlib only).

Speaks the subset of BloFin's REST API v1 that xctl uses, in BloFin's JSON
shapes ({"code": "0", "msg": "success", "data": ...}), listens on 127.0.0.1
only, and can be told to misbehave. See README.md in this folder.

    python3 fake_blofin.py --port 0 --port-file /tmp/port
"""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import fake_trading  # the signed private trading API (same folder)

DEFAULT_TICKERS = {
    "BTC-USDT": {"bid": "64000", "ask": "64000.5", "last": "64000.2"},
    "ETH-USDT": {"bid": "3200", "ask": "3200.1", "last": "3200.05"},
    "SOL-USDT": {"bid": "150", "ask": "150.01", "last": "150.005"},
}

DEFAULT_INSTRUMENTS = {
    "BTC-USDT": {"contractValue": "0.001", "lotSize": "0.1", "minSize": "0.1", "tickSize": "0.1", "maxLeverage": "150"},
    "ETH-USDT": {"contractValue": "0.01", "lotSize": "0.1", "minSize": "0.1", "tickSize": "0.01", "maxLeverage": "150"},
    "SOL-USDT": {"contractValue": "1", "lotSize": "1", "minSize": "1", "tickSize": "0.001", "maxLeverage": "75"},
}


class State:
    """Everything the server knows; one lock guards it all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.tickers = {k: dict(v) for k, v in DEFAULT_TICKERS.items()}
        self.instruments = {k: dict(v) for k, v in DEFAULT_INSTRUMENTS.items()}
        self.faults = {}  # path -> list of fault dicts, consumed in order
        self.requests = {}  # "METHOD /path" -> count

    def count(self, key):
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1

    def take_fault(self, path):
        with self.lock:
            queue = self.faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            fault["count"] -= 1
            if fault["count"] <= 0:
                queue.pop(0)
            return dict(fault)


STATE = State()


def envelope(data, code="0", msg="success"):
    return {"code": code, "msg": msg, "data": data}


def now_ms():
    return str(int(time.time() * 1000))


def tickers(query):
    inst = query.get("instId", [None])[0]
    with STATE.lock:
        items = sorted(STATE.tickers.items())
    out = []
    for pair, t in items:
        if inst and pair != inst:
            continue
        out.append({
            "instId": pair, "last": t["last"], "lastSize": "0.1",
            "askPrice": t["ask"], "askSize": "10", "bidPrice": t["bid"], "bidSize": "10",
            "high24h": t["last"], "open24h": t["last"], "low24h": t["last"],
            "volCurrency24h": "100", "vol24h": "100000", "ts": now_ms(),
        })
    return envelope(out)


def instruments(query):
    with STATE.lock:
        items = sorted(STATE.instruments.items())
    out = []
    for pair, spec in items:
        base, quote = pair.split("-")
        out.append(dict(spec, instId=pair, baseCurrency=base, quoteCurrency=quote,
                        listTime="1600000000000", expireTime="4102444800000",
                        instType="SWAP", contractType="linear",
                        maxLimitSize="100000", maxMarketSize="10000", state="live"))
    return envelope(out)


PUBLIC_ROUTES = {
    ("GET", "/api/v1/market/tickers"): tickers,
    ("GET", "/api/v1/market/instruments"): instruments,
}

# Other modules (the signed trading endpoints) register more routes here:
# ROUTES[(method, path)] = handler(query, body_bytes, headers, raw_path)
#     -> (status, json) or (status, json, extra_headers)
ROUTES = {}

TRADING = fake_trading.Trading(STATE)
ROUTES.update(TRADING.routes())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as BloFin does
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, obj=None, raw=None, headers=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_control(self, method, path, body):
        if method == "POST" and path == "/_control/tickers":
            update = json.loads(body or b"{}")
            with STATE.lock:
                STATE.tickers = {k: {"bid": v.get("bid", v["last"]), "ask": v.get("ask", v["last"]),
                                     "last": v["last"]} for k, v in update.items()}
                TRADING.match_locked()  # resting limit orders the new prices cross
            return self.send_json(200, {"ok": True})
        if method == "POST" and path == "/_control/faults":
            fault = json.loads(body or b"{}")
            fault.setdefault("count", 1)
            with STATE.lock:
                STATE.faults.setdefault(fault["path"], []).append(fault)
            return self.send_json(200, {"ok": True})
        if method == "GET" and path == "/_control/stats":
            with STATE.lock:
                stats = {"requests": dict(STATE.requests), **TRADING.stats_locked()}
            return self.send_json(200, stats)
        if method == "POST" and path == "/_control/reset":
            with STATE.lock:
                STATE.reset()
                TRADING.reset_locked()  # accounts, limits, nonces, auth stats
            return self.send_json(200, {"ok": True})
        answer = TRADING.control(method, path, urlsplit(self.path).query, body)
        if answer:
            return self.send_json(*answer)
        return self.send_json(404, {"error": "unknown control path"})

    def dispatch(self, method):
        url = urlsplit(self.path)
        body = self.read_body() if method == "POST" else b""
        if url.path.startswith("/_control/"):
            return self.handle_control(method, url.path, body)
        STATE.count(f"{method} {url.path}")
        fault = STATE.take_fault(url.path)
        if fault and self.apply_fault(fault):
            return
        query = parse_qs(url.query)
        handler = PUBLIC_ROUTES.get((method, url.path))
        if handler:
            return self.send_json(200, handler(query))
        handler = ROUTES.get((method, url.path))
        if handler:
            status, obj, *extra = handler(query, body, self.headers, self.path)
            return self.send_json(status, obj, headers=extra[0] if extra else None)
        return self.send_json(404, envelope([], code="404", msg="Not Found"))

    def apply_fault(self, fault):
        """Answers as the fault says; returns True when the request is done."""
        kind = fault["kind"]
        if kind == "timeout":
            time.sleep(fault.get("delay_ms", 3000) / 1000)
            return False  # then answer normally (the client has given up)
        if kind == "http_500":
            self.send_json(500, raw=b"Internal Server Error")
        elif kind == "http_403":
            self.send_json(403, envelope([], code="403", msg="Forbidden"))
        elif kind == "http_429":
            self.send_json(429, envelope([], code="429", msg="Too Many Requests"),
                           headers={"Retry-After": str(fault.get("retry_after", 1))})
        elif kind == "code":
            self.send_json(200, envelope([], code=str(fault.get("code", "152001")),
                                         msg=fault.get("msg", "Parameter error")))
        elif kind == "malformed":
            self.send_json(200, raw=b"<html>this is not json</html>")
        elif kind == "partial":
            full = json.dumps(tickers({})).encode()
            self.send_json(200, raw=full[: len(full) // 2])
        else:
            return False
        return True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    ThreadingHTTPServer.request_queue_size = 128  # many test clients connect at once
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{server.server_address[1]}\n")
        os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
