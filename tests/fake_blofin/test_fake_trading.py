#!/usr/bin/env python3
"""Self-test of the fake BloFin server against BloFin's published docs (stdlib only).

Starts fake_blofin.py as a subprocess on a free loopback port, signs its own
requests and checks every rule of README.md. Each test names the heading of
shared/blofin/index.md or errors.md it follows. One test loads the JSON
response examples of index.md and compares their field names and value types
with the fake's answers; another checks every error code and message the fake
uses against errors.md. The docs are looked up in $BLOFIN_DOCS_DIR, else
<repo>/../shared/blofin (CI places shared/ beside the clone).

    python3 tests/fake_blofin/test_fake_trading.py
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from decimal import Decimal as D

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_blofin.py")
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import fake_trading  # noqa: E402  (the error table and formatting rules)

KEY, SECRET, PHRASE = "test-key", "test-secret", "test-passphrase"
BTC_CV, ETH_CV = D("0.001"), D("0.01")
TAKER, MAKER = D("0.0006"), D("0.0002")
DEC18 = re.compile(r"^-?[0-9]+\.[0-9]{18,22}$")


def docs_dir():
    for d in (os.environ.get("BLOFIN_DOCS_DIR"), os.path.join(REPO, "..", "shared", "blofin")):
        if d and os.path.exists(os.path.join(d, "index.md")):
            return d
    raise RuntimeError("BloFin docs not found: set BLOFIN_DOCS_DIR or place shared/blofin/ "
                       "beside the repository")


def read_doc(name):
    with open(os.path.join(docs_dir(), name), encoding="utf-8") as f:
        return f.read()


def rest_docs():
    """index.md up to the Copy Trading part (its headings repeat the REST ones)."""
    text = read_doc("index.md")
    return text.split("\n# Copy Trading", 1)[0]


def doc_section(heading):
    """The text under '### heading' up to the next heading of level 1-3."""
    lines = rest_docs().split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == "### " + heading)
    out = []
    for line in lines[start + 1:]:
        if re.match(r"^#{1,3} ", line):
            break
        out.append(line)
    return "\n".join(out)


def doc_example(heading):
    """The JSON response example of a heading; '# comments' removed."""
    text = doc_section(heading)
    block = re.search(r"> Response Example:\s*```json\n(.*?)```", text, re.S).group(1)
    block = re.sub(r"\s+#[^\n\"]*$", "", block, flags=re.M)
    return json.loads(block)


def doc_table(heading, title):
    """Parameter names of a '#### title' table (nested `>name` rows too)."""
    text = doc_section(heading)
    part = text.split("#### " + title, 1)[1].split("####", 1)[0]
    names = []
    for line in part.split("\n"):
        m = re.match(r"^\s*`?>?([A-Za-z_][A-Za-z0-9_]*)`?\s*\|", line)
        if m and m.group(1) not in ("Parameter",):
            names.append(m.group(1))
    return names


def doc_endpoint(heading):
    m = re.search(r"`(GET|POST) (/api/v1/[^`?]+)`", doc_section(heading))
    return m.group(1), m.group(2)


def errors_table():
    rows = {}
    for line in read_doc("errors.md").split("\n"):
        m = re.match(r"^\s*([0-9]+)\s*\|\s*([0-9]+)\s*\|\s*(.*)$", line)
        if m:
            rows[m.group(1)] = (int(m.group(2)), m.group(3).strip())
    return rows


ERRORS_MD = errors_table()


def sign(secret, prehash):
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


class Server:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="fake-blofin-test-")
        port_file = os.path.join(self.dir.name, "port")
        self.log = open(os.path.join(self.dir.name, "server.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--port", "0", "--port-file", port_file],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("fake_blofin.py did not start")
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read().strip())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.dir.cleanup()

    def raw(self, method, target, body=b"", headers=None, timeout=10):
        """(status, headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if body:
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, target, body=body or None, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def request(self, method, target, body=b"", headers=None, timeout=10):
        status, hdrs, data = self.raw(method, target, body, headers, timeout)
        return status, hdrs, json.loads(data) if data else None

    def control(self, method, what, obj=None, query=""):
        body = json.dumps(obj).encode() if obj is not None else b""
        return self.request(method, "/_control/" + what + query, body)


class Client:
    """Signs requests for one account; keyword overrides create faulty requests."""

    def __init__(self, server, key=KEY, secret=SECRET, passphrase=PHRASE):
        self.server, self.key, self.secret, self.passphrase = server, key, secret, passphrase

    def call(self, method, target, obj=None, *, body_text=None, ts=None, nonce=None, key=None,
             secret=None, passphrase=None, send_body=None, send_target=None, drop=(),
             sign_override=None, timeout=10):
        body = body_text if body_text is not None else json.dumps(obj) if obj is not None else ""
        ts = str(int(time.time() * 1000)) if ts is None else ts
        nonce = uuid.uuid4().hex if nonce is None else nonce
        signature = sign(secret or self.secret, target + method + ts + nonce + body)
        headers = {"ACCESS-KEY": key or self.key, "ACCESS-SIGN": sign_override or signature,
                   "ACCESS-TIMESTAMP": ts, "ACCESS-NONCE": nonce,
                   "ACCESS-PASSPHRASE": passphrase or self.passphrase}
        for name in drop:
            del headers[name]
        raw = (send_body if send_body is not None else body).encode()
        return self.server.request(method, send_target or target, raw, headers, timeout)

    def ok(self, method, target, obj=None):
        status, _, reply = self.call(method, target, obj)
        assert status == 200 and reply["code"] == "0", (status, reply)
        return reply["data"]

    def order(self, **fields):
        req = {"instId": "BTC-USDT", "marginMode": "cross", "positionSide": "net",
               "side": "buy", "orderType": "market", "size": "1"}
        req.update(fields)
        req = {k: v for k, v in req.items() if v is not None}
        return self.call("POST", "/api/v1/trade/order", req)[2]

    def order_ok(self, **fields):
        reply = self.order(**fields)
        assert reply["code"] == "0" and reply["data"][0]["code"] == "0", reply
        return reply["data"][0]["orderId"]

    def cancel(self, **fields):
        return self.call("POST", "/api/v1/trade/cancel-order", fields)[2]

    def detail(self, query):
        return self.call("GET", "/api/v1/trade/order-detail" + query)[2]

    def get(self, oid, inst="BTC-USDT"):
        reply = self.detail(f"?instId={inst}&orderId={oid}")
        assert reply["code"] == "0", reply
        return reply["data"]

    def balance(self):
        return self.ok("GET", "/api/v1/account/balance")["details"][0]

    def positions(self, query=""):
        return self.ok("GET", "/api/v1/account/positions" + query)

    def history(self, query=""):
        return self.ok("GET", "/api/v1/trade/orders-history" + query)

    def pending(self, query=""):
        return self.ok("GET", "/api/v1/trade/orders-pending" + query)

    def fills(self, query=""):
        return self.ok("GET", "/api/v1/trade/fills-history" + query)


class FakeBlofinTest(unittest.TestCase):
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.assertEqual(self.server.control("POST", "reset")[0], 200)
        self.add_account(KEY, SECRET, PHRASE, "10000")
        self.c = Client(self.server)

    # ------------------------------------------------------------ helpers

    def add_account(self, key, secret, phrase, balance, **extra):
        status, _, reply = self.server.control("POST", "accounts", dict(
            apiKey=key, secret=secret, passphrase=phrase, balance=balance, **extra))
        self.assertEqual(status, 200, reply)

    def ctl(self, what, obj):
        status, _, reply = self.server.control("POST", what, obj)
        self.assertEqual(status, 200, reply)

    def tick(self, inst="BTC-USDT", bid="64000", ask="64000.5", last=None, **extra):
        row = {"bid": bid, "ask": ask, "last": last or bid, **extra}
        self.ctl("tickers", {inst: row})

    def state(self, key=KEY):
        status, _, st = self.server.control("GET", "accounts/state", query=f"?apiKey={key}")
        self.assertEqual(status, 200)
        return st

    def stats(self):
        return self.server.control("GET", "stats")[2]

    def assert_code(self, reply, code, *args):
        """A refused request: errors.md code and message, data null."""
        self.assertIn(code, ERRORS_MD, f"{code} is not in errors.md")
        self.assertEqual(reply["code"], code, reply)
        self.assertEqual(reply["msg"], fake_trading.message(code, *args))
        self.assertIsNone(reply["data"])

    def assert_rejected(self, reply, code, cid=None, style="success"):
        """index.md, Place Order: a per-order rejection inside data[0]; the
        default envelope is code "0" (as BloFin was recorded answering)."""
        self.assertIn(code, ERRORS_MD, f"{code} is not in errors.md")
        if style == "success":
            self.assertEqual((reply["code"], reply["msg"]), ("0", "success"), reply)
        else:
            self.assertEqual((reply["code"], reply["msg"]), ("1", "All operations failed"))
        self.assertEqual(reply["data"], [{"orderId": None, "clientOrderId": cid,
                                          "msg": fake_trading.message(code), "code": code}])

    # ========================================================== the docs

    def test_error_codes_and_messages_come_from_errors_md(self):
        """errors.md: every code the fake answers is a row there, with its
        message ({} filled in), and HTTP 200 except 429."""
        for code, template in fake_trading.ERRORS.items():
            self.assertIn(code, ERRORS_MD, code)
            status, text = ERRORS_MD[code]
            pattern = ".+".join(re.escape(p) for p in template.split("{}"))
            self.assertRegex(text, "^" + pattern + "$", code)
            self.assertEqual(status, 429 if code == "429" else 200, code)

    def shape(self, doc, fake, documented, where):
        """Same field names and value types as the docs' example."""
        if isinstance(doc, dict):
            self.assertIsInstance(fake, dict, where)
            for k, v in doc.items():
                self.assertIn(k, fake, f"{where}: the docs' field {k} is missing")
                self.shape(v, fake[k], documented, f"{where}.{k}")
            for k in fake:
                self.assertTrue(k in doc or k in documented, f"{where}: {k} is not documented")
        elif isinstance(doc, list):
            self.assertIsInstance(fake, list, where)
            self.assertTrue(fake, f"{where}: the test must produce a non-empty list")
            for item in fake:
                match = [d for d in doc if isinstance(d, dict) and isinstance(item, dict)
                         and d.get("marginMode") == item.get("marginMode")] or doc
                self.shape(match[0], item, documented, f"{where}[]")
        elif doc is None:
            self.assertTrue(fake is None or isinstance(fake, str), f"{where}: {fake!r}")
        else:
            self.assertIsInstance(fake, str, f"{where}: {fake!r} is not a string like {doc!r}")

    def test_answers_have_the_fields_and_types_of_the_docs_examples(self):
        """index.md: each implemented endpoint's "Response Example" against the
        fake's answer (names, string types, nothing undocumented). The HTTP
        Request line of each heading is the path the fake serves."""
        c = self.c
        tp = {"tpTriggerPrice": "70000", "tpOrderPrice": "-1", "slTriggerPrice": "60000",
              "slOrderPrice": "-1"}
        placed = c.order(clientOrderId="shape1", **tp)
        c.order_ok(instId="ETH-USDT", marginMode="isolated", orderType="market", size="1",
                   tpTriggerPrice="4000", tpOrderPrice="-1", slTriggerPrice="3000",
                   slOrderPrice="-1")
        rest = c.order_ok(orderType="limit", price="60000", size="1", clientOrderId="shape2", **tp)
        gone = c.order_ok(orderType="limit", price="60000.1", size="1", **tp)
        canceled = c.cancel(orderId=gone)
        answers = {
            "GET Instruments": self.server.request("GET", "/api/v1/market/instruments")[2],
            "GET Tickers": self.server.request("GET", "/api/v1/market/tickers")[2],
            "GET Funding Rate": self.server.request("GET", "/api/v1/market/funding-rate")[2],
            "GET Position Tiers": self.server.request(
                "GET", "/api/v1/market/position-tiers?instId=BTC-USDT&marginMode=cross")[2],
            "GET Futures Account Balance": c.call("GET", "/api/v1/account/balance")[2],
            "GET Positions": c.call("GET", "/api/v1/account/positions")[2],
            "GET Margin Mode": c.call("GET", "/api/v1/account/margin-mode")[2],
            "Set Margin Mode": c.call("POST", "/api/v1/account/set-margin-mode",
                                      {"marginMode": "cross"})[2],
            "GET Position Mode": c.call("GET", "/api/v1/account/position-mode")[2],
            "Set Position Mode": c.call("POST", "/api/v1/account/set-position-mode",
                                        {"positionMode": "net_mode"})[2],
            "GET Multiple Leverage": c.call(
                "GET", "/api/v1/account/batch-leverage-info?instId=BTC-USDT,ETH-USDT"
                       "&marginMode=cross")[2],
            "Set Leverage": c.call("POST", "/api/v1/account/set-leverage",
                                   {"instId": "SOL-USDT", "leverage": "5",
                                    "marginMode": "cross"})[2],
            "Place Order": placed,
            "Cancel Order": canceled,
            "GET Active Orders": c.call("GET", "/api/v1/trade/orders-pending")[2],
            "GET Order Detail": c.call(
                "GET", f"/api/v1/trade/order-detail?instId=BTC-USDT&orderId={rest}")[2],
            "GET Order History": c.call("GET", "/api/v1/trade/orders-history")[2],
            "GET Trade History": c.call("GET", "/api/v1/trade/fills-history")[2],
        }
        for heading, answer in answers.items():
            with self.subTest(heading=heading):
                self.assertEqual(answer["code"], "0", answer)
                documented = set(doc_table(heading, "Response Parameters"))
                self.shape(doc_example(heading), answer, documented | {"code", "msg", "data"},
                           heading)
                method, path = doc_endpoint(heading)
                log = self.server.control("GET", "requests", query="?path=" + path)[2]
                self.assertTrue(any(e["method"] == method for e in log["requests"]),
                                f"{heading}: {method} {path} was not asked")
        # index.md, GET Trade History: exactly the documented fields.
        fill = answers["GET Trade History"]["data"][0]
        self.assertEqual(set(fill), set(doc_table("GET Trade History", "Response Parameters")))
        self.assertNotIn("clientOrderId", fill)
        # index.md, Cancel Order and GET Order Detail: data is one object.
        self.assertIsInstance(answers["Cancel Order"]["data"], dict)
        self.assertIsInstance(answers["GET Order Detail"]["data"], dict)

    # ================================================= REST Authentication

    def assert_auth_fail(self, result, code):
        """errors.md: authentication refusals answer HTTP 200."""
        status, _, reply = result
        self.assertEqual(status, 200)
        self.assert_code(reply, code)

    def test_signature_rule(self):
        """index.md, Signature: requestPath (with ?query for GET) + METHOD +
        timestamp + nonce + body; ACCESS-SIGN = Base64(hex(HMAC-SHA256))."""
        ts, nonce = str(int(time.time() * 1000)), "n-" + uuid.uuid4().hex
        target = "/api/v1/account/positions?instId=BTC-USDT"
        digest = hmac.new(SECRET.encode(), (target + "GET" + ts + nonce).encode(),
                          hashlib.sha256).hexdigest()
        headers = {"ACCESS-KEY": KEY, "ACCESS-SIGN": base64.b64encode(digest.encode()).decode(),
                   "ACCESS-TIMESTAMP": ts, "ACCESS-NONCE": nonce, "ACCESS-PASSPHRASE": PHRASE}
        self.assertEqual(len(headers["ACCESS-SIGN"]), 88)
        status, _, reply = self.server.request("GET", target, headers=headers)
        self.assertEqual((status, reply["code"], reply["data"]), (200, "0", []))
        body = '{"instId":"BTC-USDT","leverage":"5","marginMode":"cross"}'
        status, _, reply = self.c.call("POST", "/api/v1/account/set-leverage", body_text=body)
        self.assertEqual(reply["code"], "0", reply)

    def test_authentication_codes(self):
        """index.md, REST Authentication; errors.md 152401, 152408, 152410,
        152405, 152409."""
        path = "/api/v1/account/balance"
        c = self.c
        self.assert_auth_fail(c.call("GET", path, key="nobody"), "152401")
        self.assert_auth_fail(c.call("GET", path, drop=("ACCESS-KEY",)), "152401")
        self.assert_auth_fail(c.call("GET", path, passphrase="wrong"), "152408")
        self.assert_auth_fail(c.call("GET", path, drop=("ACCESS-PASSPHRASE",)), "152408")
        old, future = int(time.time() * 1000) - 61_000, int(time.time() * 1000) + 61_000
        self.assert_auth_fail(c.call("GET", path, ts=str(old)), "152405")
        self.assert_auth_fail(c.call("GET", path, ts=str(future)), "152405")
        self.assert_auth_fail(c.call("GET", path, ts=str(int(time.time()))), "152410")  # seconds
        self.assert_auth_fail(c.call("GET", path, ts="17040384000x0"), "152410")
        self.assert_auth_fail(c.call("GET", path, secret="other"), "152409")
        self.assert_auth_fail(c.call("GET", path, drop=("ACCESS-SIGN",)), "152409")
        self.assertEqual(self.stats()["auth_failures"],
                         {"152401": 2, "152408": 2, "152405": 2, "152410": 2, "152409": 2})

    def test_nonce_reuse_within_60_seconds(self):
        """errors.md 152407 "Reusing within 60 seconds is not allowed"; a refused
        request does not use up its nonce."""
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", nonce="n1",
                                          secret="bad"), "152409")
        self.assertEqual(self.c.call("GET", "/api/v1/account/balance", nonce="n1")[2]["code"], "0")
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/positions", nonce="n1"),
                              "152407")

    def test_anything_altered_after_signing_fails(self):
        """index.md, Signature: the query (GET) and the body (POST) are signed;
        index.md, General Information on Endpoints: GET parameters are sent as a
        query string, so a GET body is not part of the signature."""
        c = self.c
        self.assert_auth_fail(c.call("GET", "/api/v1/account/positions?instId=BTC-USDT",
                                     send_target="/api/v1/account/positions?instId=ETH-USDT"),
                              "152409")
        req = {"instId": "BTC-USDT", "marginMode": "cross", "side": "buy",
               "orderType": "market", "size": "1"}
        self.assert_auth_fail(c.call("POST", "/api/v1/trade/order", req,
                                     send_body=json.dumps(dict(req, size="2"))), "152409")
        self.assert_auth_fail(c.call("GET", "/api/v1/trade/order-detail", body_text='{"x":1}'),
                              "152409")
        self.assertEqual(self.state()["orders"], [])

    def test_every_private_endpoint_requires_auth(self):
        """index.md, REST Authentication: "All private REST requests must contain
        the following headers"."""
        for method, path in (("POST", "/api/v1/trade/order"),
                             ("POST", "/api/v1/trade/cancel-order"),
                             ("GET", "/api/v1/trade/orders-pending"),
                             ("GET", "/api/v1/trade/order-detail"),
                             ("GET", "/api/v1/trade/orders-history"),
                             ("GET", "/api/v1/trade/fills-history"),
                             ("GET", "/api/v1/account/balance"),
                             ("GET", "/api/v1/account/positions"),
                             ("GET", "/api/v1/account/margin-mode"),
                             ("POST", "/api/v1/account/set-margin-mode"),
                             ("GET", "/api/v1/account/position-mode"),
                             ("POST", "/api/v1/account/set-position-mode"),
                             ("GET", "/api/v1/account/batch-leverage-info"),
                             ("POST", "/api/v1/account/set-leverage")):
            status, _, reply = self.server.request(method, path, b"{}" if method == "POST" else b"")
            self.assertEqual((status, reply["code"]), (200, "152401"), path)

    # ========================================================= public data

    def test_instruments(self):
        """index.md, GET Instruments: documented fields, instId filter, state
        live/suspend (settable); a suspended or unknown instrument is refused."""
        data = self.server.request("GET", "/api/v1/market/instruments?instId=BTC-USDT")[2]["data"]
        self.assertEqual(len(data), 1)
        btc = data[0]
        self.assertEqual((btc["instType"], btc["contractType"], btc["settleCurrency"],
                          btc["state"], btc["maxMarketSize"], btc["maxLimitSize"]),
                         ("SWAP", "linear", "USDT", "live", "10000", "100000"))
        reply = self.server.request("GET", "/api/v1/market/instruments?instId=XRP-USDT")[2]
        self.assert_code(reply, "152014")
        self.ctl("instruments", {"BTC-USDT": {"state": "suspend"},
                                 "XRP-USDT": {"contractValue": "10", "lotSize": "1",
                                              "minSize": "1", "tickSize": "0.0001",
                                              "maxLeverage": "50"}})
        data = self.server.request("GET", "/api/v1/market/instruments")[2]["data"]
        self.assertEqual([i["instId"] for i in data], ["BTC-USDT", "ETH-USDT", "SOL-USDT",
                                                       "XRP-USDT"])
        self.assertEqual(data[0]["state"], "suspend")
        self.assert_code(self.c.order(), "152014")
        self.assert_code(self.c.order(instId="DOGE-USDT"), "152014")

    def test_tickers(self):
        """index.md, GET Tickers: documented fields; askSize/bidSize settable."""
        self.tick(bid="100", ask="101", last="100.5", askSize="3", bidSize="4")
        t = self.server.request("GET", "/api/v1/market/tickers?instId=BTC-USDT")[2]["data"]
        self.assertEqual((t[0]["bidPrice"], t[0]["askPrice"], t[0]["last"], t[0]["askSize"],
                          t[0]["bidSize"]), ("100", "101", "100.5", "3", "4"))
        self.assertEqual(self.server.request("GET", "/api/v1/market/tickers?instId=ETH-USDT")[2],
                         {"code": "0", "msg": "success", "data": []})  # no ticker now

    def test_funding_rate(self):
        """index.md, GET Funding Rate: instId optional; settable via control."""
        rows = self.server.request("GET", "/api/v1/market/funding-rate")[2]["data"]
        self.assertEqual(len(rows), 3)
        self.ctl("funding-rate", {"ETH-USDT": {"fundingRate": "-0.000332",
                                               "fundingTime": "1703462400000"}})
        rows = self.server.request("GET", "/api/v1/market/funding-rate?instId=ETH-USDT")[2]
        self.assertEqual(rows["data"], [{"instId": "ETH-USDT", "fundingRate": "-0.000332",
                                         "fundingTime": "1703462400000"}])

    def test_position_tiers(self):
        """index.md, GET Position Tiers: instId and marginMode are required."""
        r = self.server.request
        self.assert_code(r("GET", "/api/v1/market/position-tiers?instId=BTC-USDT")[2],
                         "152001", "marginMode")
        self.assert_code(r("GET", "/api/v1/market/position-tiers?marginMode=cross")[2],
                         "152001", "instId")
        self.assert_code(r("GET", "/api/v1/market/position-tiers?instId=BTC-USDT&marginMode=x")[2],
                         "152002", "marginMode")
        tiers = r("GET", "/api/v1/market/position-tiers?instId=BTC-USDT&marginMode=isolated")[2]
        self.assertEqual(tiers["data"][0], {"symbol": "BTC-USDT", "marginMode": "isolated",
                                            "minSize": "0.1", "maxSize": "10000",
                                            "maintenanceMarginRate": "0.004",
                                            "maxLeverage": "150"})

    def test_unknown_path_and_method(self):
        """errors.md: 404 "not found" and 405 "Method Not Allowed", HTTP 200."""
        status, _, reply = self.server.request("GET", "/api/v1/nothing")
        self.assertEqual(status, 200)
        self.assert_code(reply, "404")
        status, _, reply = self.server.request("GET", "/api/v1/trade/order")
        self.assertEqual(status, 200)
        self.assert_code(reply, "405")

    # ========================================================= Place Order

    def test_market_order_fills_at_the_touch_and_every_view_agrees(self):
        """index.md, Place Order / GET Order Detail / GET Trade History / GET
        Positions / GET Futures Account Balance: a market buy fills fully at the
        ask, taker fee 0.06%; numbers with 18 fraction digits; market price 0."""
        reply = self.c.order(size="1")
        self.assertEqual((reply["code"], reply["msg"]), ("0", ""))
        item = reply["data"][0]
        self.assertEqual((item["clientOrderId"], item["code"], item["msg"]), (None, "0", ""))
        o = self.c.get(item["orderId"])
        fee = D("64000.5") * BTC_CV * TAKER
        self.assertEqual((o["state"], o["price"], o["size"], o["filledSize"], o["averagePrice"],
                          o["fee"], o["clientOrderId"], o["positionSide"], o["leverage"]),
                         ("filled", "0.000000000000000000", "1.000000000000000000",
                          "1.000000000000000000", "64000.500000000000000000",
                          "0.038400300000000000", "", "net", "3"))
        for k in ("price", "size", "filledSize", "averagePrice", "fee", "pnl"):
            self.assertRegex(o[k], DEC18, k)
        f = self.c.fills()
        self.assertEqual(len(f), 1)
        self.assertEqual((f[0]["orderId"], D(f[0]["fillPrice"]), D(f[0]["fee"]), f[0]["side"]),
                         (item["orderId"], D("64000.5"), fee, "buy"))
        p = self.c.positions()[0]
        self.assertEqual((p["positions"], D(p["averagePrice"]), p["markPrice"], p["positionSide"]),
                         ("1", D("64000.5"), "64000.2", "net"))
        self.assertEqual(D(p["unrealizedPnl"]), (D("64000.2") - D("64000.5")) * BTC_CV)
        b = self.c.balance()
        self.assertEqual(D(b["balance"]), D(10000) - fee)
        self.assertRegex(b["balance"], DEC18)
        self.assertEqual(self.c.history()[0]["orderId"], item["orderId"])
        self.assertEqual(self.c.pending(), [])

    def test_market_sell_fills_at_bid(self):
        """index.md, Place Order: side sell, at the best bid (GET Tickers)."""
        oid = self.c.order_ok(side="sell", size="2")
        o = self.c.get(oid)
        self.assertEqual(D(o["averagePrice"]), D("64000"))
        self.assertEqual(self.c.positions()[0]["positions"], "-2")

    def test_parameter_errors(self):
        """errors.md 152001 (empty), 152002 (error), 152004 (JSON), 152009
        (clientOrderId), 152014 (instrument); index.md, Place Order parameters."""
        c = self.c
        self.assert_code(c.order(instId=None), "152001", "instId")
        self.assert_code(c.order(size=None), "152001", "size")
        self.assert_code(c.order(side="long"), "152002", "side")
        self.assert_code(c.order(orderType="stop"), "152002", "orderType")
        self.assert_code(c.order(marginMode="portfolio"), "152002", "marginMode")
        self.assert_code(c.order(positionSide="both"), "152002", "positionSide")
        self.assert_code(c.order(size="-1"), "152002", "size")
        self.assert_code(c.order(size="1e3"), "152002", "size")
        self.assert_code(c.order(size=1), "152002", "size")  # a JSON number, not a String
        self.assert_code(c.order(size="0.15"), "152002", "size")  # not a lotSize multiple
        self.assert_code(c.order(orderType="limit"), "152001", "price")
        self.assert_code(c.order(orderType="limit", price="64000.05"), "152002", "price")
        self.assert_code(c.order(reduceOnly="yes"), "152002", "reduceOnly")
        self.assert_code(c.order(clientOrderId="has_underscore"), "152009", "clientOrderId")
        self.assert_code(c.order(clientOrderId="x" * 33), "152009", "clientOrderId")
        self.assert_code(c.order(tpTriggerPrice="70000"), "152001", "tpOrderPrice")
        self.assert_code(c.order(slOrderPrice="-1"), "152001", "slTriggerPrice")
        self.assert_code(c.order(instId="XRP-USDT"), "152014")
        status, _, reply = c.call("POST", "/api/v1/trade/order", body_text="[1, 2]")
        self.assert_code(reply, "152004")
        status, _, reply = c.call("POST", "/api/v1/trade/order", body_text="{bad json")
        self.assert_code(reply, "152004")
        self.assertEqual(self.state()["orders"], [])
        # "price: Not applicable to market": ignored, even when malformed.
        self.assertEqual(c.order(price="abc")["data"][0]["code"], "0")
        self.assertEqual(c.order(clientOrderId="x" * 32)["data"][0]["clientOrderId"], "x" * 32)

    def test_per_order_rejection_envelopes(self):
        """index.md, Place Order: data [{orderId, clientOrderId, msg, code}];
        errors.md 103003. Default envelope code "0" (as BloFin was recorded
        answering); settings envelope errors_md: code "1" "All operations failed"."""
        self.add_account("poor", "s", "p", "10")
        poor = Client(self.server, "poor", "s", "p")
        self.assert_rejected(poor.order(size="1", clientOrderId="abc"), "103003", "abc")
        self.assert_rejected(poor.order(size="1"), "103003", None)
        self.ctl("settings", {"envelope": "errors_md"})
        self.assert_rejected(poor.order(size="1", clientOrderId="abc"), "103003", "abc",
                             style="errors_md")
        self.assertEqual(self.state("poor")["orders"], [])

    def test_maximum_order_sizes(self):
        """index.md, GET Instruments maxMarketSize/maxLimitSize; errors.md 102015
        (market) and 102014 (limit)."""
        self.ctl("instruments", {"BTC-USDT": {"maxMarketSize": "5", "maxLimitSize": "8"}})
        self.assert_rejected(self.c.order(size="5.1"), "102015")
        self.assert_rejected(self.c.order(orderType="limit", price="60000", size="8.1"), "102014")
        self.assert_rejected(self.c.order(orderType="ioc", price="60000", size="8.1"), "102014")
        self.c.order_ok(size="5")
        self.c.order_ok(orderType="limit", price="60000", size="8")

    def test_margin_check(self):
        """errors.md 103003: the increasing part x price x contractValue /
        leverage must not exceed what is available."""
        self.add_account("small", "s", "p", "100")
        c = Client(self.server, "small", "s", "p")
        # 4.6 x 64000.5 x 0.001 / 3 = 98.13 fits; 4.7 -> 100.27 does not.
        self.assert_rejected(c.order(size="4.7"), "103003")
        c.order_ok(size="4.6")
        c.order_ok(side="sell", size="4.6")  # reducing needs no margin
        # a resting order freezes its margin: 4 x 60000 x 0.001 / 3 = 80
        c.order_ok(orderType="limit", price="60000", size="4")
        self.assert_rejected(c.order(orderType="limit", price="60000", size="1.1"), "103003")

    def test_duplicate_client_order_id_scope(self):
        """errors.md 102002 "Duplicate customized order ID". Docs silent on the
        scope: default "live" (only while an order with the id is live or
        partially filled; a finished order's id places a SECOND order);
        settings duplicate_scope "all" refuses any earlier id."""
        c = self.c
        first = c.order_ok(orderType="limit", price="60000", clientOrderId="dup1")
        self.assert_rejected(c.order(clientOrderId="dup1"), "102002", "dup1")
        c.cancel(orderId=first)
        second = c.order_ok(clientOrderId="dup1")
        self.assertNotEqual(first, second)
        self.assertEqual(len(self.state()["orders"]), 2)
        self.ctl("settings", {"duplicate_scope": "all"})
        self.assert_rejected(c.order(clientOrderId="dup1"), "102002", "dup1")
        # order detail by clientOrderId answers the newest order with that id
        self.assertEqual(c.detail("?instId=BTC-USDT&clientOrderId=dup1")["data"]["orderId"],
                         second)

    # ========================================================= order types

    def test_resting_limit_fills_up_to_the_touch_size(self):
        """index.md, Place Order (limit) and GET Active Orders (partially_filled):
        a resting order crossed by a new ticker fills as maker at its price, at
        most askSize/bidSize per ticker."""
        c = self.c
        oid = c.order_ok(orderType="limit", price="63990", size="25")
        self.assertEqual(c.get(oid)["state"], "live")
        self.assertEqual(c.get(oid)["averagePrice"], "")  # "If none is filled, it will return ""."
        self.tick(bid="63980", ask="63990", askSize="10")
        o = c.get(oid)
        self.assertEqual((o["state"], D(o["filledSize"])), ("partially_filled", 10))
        self.assertEqual(c.pending("?state=partially_filled")[0]["orderId"], oid)
        self.tick(bid="63980", ask="63985", askSize="10")
        self.tick(bid="63980", ask="63985", askSize="10")
        o = c.get(oid)
        self.assertEqual((o["state"], D(o["filledSize"]), D(o["averagePrice"])),
                         ("filled", 25, D("63990")))
        self.assertEqual(D(o["fee"]), D("63990") * 25 * BTC_CV * MAKER)
        self.assertEqual([D(f["fillSize"]) for f in c.fills(f"?orderId={oid}")], [5, 10, 10])

    def test_limit_crossing_on_arrival_takes_then_rests(self):
        """index.md, Place Order: a crossing limit order takes what the touch
        offers (taker, at the ask) and rests with the rest."""
        c = self.c
        oid = c.order_ok(orderType="limit", price="64010", size="15")
        o = c.get(oid)
        self.assertEqual((o["state"], D(o["filledSize"])), ("partially_filled", 10))
        self.tick(bid="64000", ask="64005")
        o = c.get(oid)
        self.assertEqual(o["state"], "filled")
        avg = (D("64000.5") * 10 + D("64010") * 5) / 15
        self.assertEqual(D(o["averagePrice"]), D(fake_trading.d18(avg)))
        self.assertEqual(D(o["fee"]), D("64000.5") * 10 * BTC_CV * TAKER +
                         D("64010") * 5 * BTC_CV * MAKER)

    def test_the_touch_is_used_up(self):
        """The size at the touch is shared by all orders until the next ticker."""
        self.add_account("k2", "s2", "p2", "10000")
        c2 = Client(self.server, "k2", "s2", "p2")
        a = self.c.order_ok(orderType="limit", price="64000.5", size="8")
        b = c2.order_ok(orderType="limit", price="64000.5", size="8")
        self.assertEqual(D(self.c.get(a)["filledSize"]), 8)
        self.assertEqual(D(c2.get(b)["filledSize"]), 2)

    def test_post_only(self):
        """index.md, Place Order post_only. Docs silent on one that would take:
        accepted, then canceled with nothing filled."""
        c = self.c
        oid = c.order_ok(orderType="post_only", price="64001")
        o = c.get(oid)
        self.assertEqual((o["state"], o["filledSize"]), ("canceled", "0.000000000000000000"))
        self.assertEqual(c.history("?orderType=post_only")[0]["orderId"], oid)
        rest = c.order_ok(orderType="post_only", price="63000")
        self.assertEqual(c.pending("?orderType=post_only")[0]["orderId"], rest)
        self.tick(bid="62990", ask="63000")
        o = c.get(rest)
        self.assertEqual(o["state"], "filled")
        self.assertEqual(D(o["fee"]), D("63000") * BTC_CV * MAKER)

    def test_fok(self):
        """index.md, Place Order fok: filled at once in full, else canceled."""
        c = self.c
        self.assertEqual(c.get(c.order_ok(orderType="fok", price="64001", size="10"))["state"],
                         "filled")
        self.tick()
        o = c.get(c.order_ok(orderType="fok", price="64001", size="10.1"))
        self.assertEqual((o["state"], D(o["filledSize"])), ("canceled", 0))

    def test_ioc(self):
        """index.md, Place Order ioc and GET Order History: the unfilled rest is
        canceled; partly filled -> partially_canceled (a final state)."""
        c = self.c
        oid = c.order_ok(orderType="ioc", price="64001", size="15")
        o = c.get(oid)
        self.assertEqual((o["state"], D(o["filledSize"])), ("partially_canceled", 10))
        self.assertEqual(c.history("?state=partially_canceled")[0]["orderId"], oid)
        self.assertEqual(c.positions()[0]["positions"], "10")
        o = c.get(c.order_ok(orderType="ioc", price="63000", size="1"))
        self.assertEqual(o["state"], "canceled")
        self.assertEqual(c.pending(), [])

    def test_market_order_without_a_ticker_is_canceled(self):
        """Docs silent: a market order with no market price is accepted, then
        canceled with nothing filled."""
        self.ctl("tickers", {"ETH-USDT": {"last": "3200"}})
        o = self.c.get(self.c.order_ok())
        self.assertEqual((o["state"], o["filledSize"]), ("canceled", "0.000000000000000000"))
        self.assertEqual(self.c.positions(), [])

    def test_fees_are_settable_and_maker_may_be_a_rebate(self):
        """Control settings maker_fee / taker_fee; a negative maker fee is a
        rebate (index.md, GET Active Orders: fee "Fee and rebate")."""
        self.ctl("settings", {"maker_fee": "-0.0001", "taker_fee": "0.0005"})
        oid = self.c.order_ok(orderType="limit", price="63000", size="1")
        self.tick(bid="62990", ask="63000")
        self.assertEqual(D(self.c.get(oid)["fee"]), -D("63000") * BTC_CV * D("0.0001"))
        self.assertEqual(D(self.c.balance()["balance"]), 10000 + D("63000") * BTC_CV * D("0.0001"))
        self.assertEqual(D(self.c.get(self.c.order_ok(side="sell"))["fee"]),
                         D("62990") * BTC_CV * D("0.0005"))

    def test_unfilled_average_price_switch(self):
        """index.md, GET Active Orders: averagePrice "" when nothing is filled
        (default); settings unfilled_average_price "zeros" as the examples."""
        oid = self.c.order_ok(orderType="limit", price="60000")
        self.assertEqual(self.c.pending()[0]["averagePrice"], "")
        self.ctl("settings", {"unfilled_average_price": "zeros"})
        self.assertEqual(self.c.get(oid)["averagePrice"], "0.000000000000000000")

    # ============================================================ TP / SL

    def test_tpsl_are_checked_stored_and_trigger(self):
        """index.md, Place Order tp/sl parameters; errors.md 102037-102040; a
        reached trigger places a reduce-only market close (orderCategory tp)."""
        c = self.c
        self.assert_rejected(c.order(tpTriggerPrice="63000", tpOrderPrice="-1"), "102037")
        self.assert_rejected(c.order(slTriggerPrice="65000", slOrderPrice="-1"), "102038")
        self.assert_rejected(c.order(side="sell", tpTriggerPrice="65000", tpOrderPrice="-1"),
                             "102039")
        self.assert_rejected(c.order(side="sell", slTriggerPrice="63000", slOrderPrice="-1"),
                             "102040")
        oid = c.order_ok(tpTriggerPrice="65000", tpOrderPrice="-1", slTriggerPrice="63000",
                         slOrderPrice="-1")
        o = c.get(oid)
        self.assertEqual((o["tpTriggerPrice"], o["tpOrderPrice"], o["slTriggerPrice"]),
                         ("65000.000000000000000000", "-1.000000000000000000",
                          "63000.000000000000000000"))
        self.tick(bid="64999", ask="65001", last="65000")
        self.assertEqual(c.positions(), [])
        close = c.history()[0]
        self.assertEqual((close["orderCategory"], close["side"], close["reduceOnly"],
                          D(close["averagePrice"])), ("tp", "sell", "true", D("64999")))
        self.tick(bid="62000", ask="62001", last="62000")  # the sl leg is gone
        self.assertEqual(len(self.state()["orders"]), 2)

    # ====================================================== positions, modes

    def test_reduce_only(self):
        """index.md, Place Order reduceOnly: the position is at most closed;
        errors.md 102022 with no position to reduce."""
        c = self.c
        self.assert_rejected(c.order(side="sell", reduceOnly="true"), "102022")
        c.order_ok(size="2")
        self.assert_rejected(c.order(side="buy", reduceOnly="true"), "102022")
        oid = c.order_ok(side="sell", size="5", reduceOnly="true")
        o = c.get(oid)
        self.assertEqual((o["size"], o["state"], o["reduceOnly"]),
                         ("2.000000000000000000", "filled", "true"))
        self.assertEqual(c.positions(), [])
        pnl = (D("64000") - D("64000.5")) * 2 * BTC_CV
        self.assertEqual(D(o["pnl"]), pnl)
        self.assertEqual(D(c.fills(f"?orderId={oid}")[0]["fillPnl"]), pnl)

    def test_net_mode_averaging_and_flip(self):
        """index.md, GET Positions: net positionSide, negative = short; a
        larger opposite fill flips into a new position."""
        c = self.c
        c.order_ok(size="1")
        self.tick(bid="65000", ask="65000.5")
        c.order_ok(size="1")
        p = c.positions()[0]
        self.assertEqual(D(p["averagePrice"]), (D("64000.5") + D("65000.5")) / 2)
        first = p["positionId"]
        c.order_ok(side="sell", size="3")
        p = c.positions()[0]
        self.assertEqual((p["positions"], D(p["averagePrice"])), ("-1", D("65000")))
        self.assertNotEqual(p["positionId"], first)

    def test_hedge_mode(self):
        """index.md, Set Position Mode / Place Order: in long_short_mode
        positionSide long or short must be sent (else 102089); positions are
        positive per side; closing sells long / buys short."""
        c = self.c
        self.assert_rejected(c.order(positionSide="long"), "102089")  # net mode
        self.assertEqual(c.ok("POST", "/api/v1/account/set-position-mode",
                              {"positionMode": "long_short_mode"}),
                         {"positionMode": "long_short_mode"})
        self.assertEqual(c.ok("GET", "/api/v1/account/position-mode"),
                         {"positionMode": "long_short_mode"})
        self.assert_rejected(c.order(positionSide=None), "102089")
        self.assert_rejected(c.order(positionSide="net"), "102089")
        self.assert_rejected(c.order(side="buy", positionSide="short"), "102022")  # no short
        c.order_ok(positionSide="long", size="2")
        c.order_ok(positionSide="short", side="sell", size="1")
        pos = {p["positionSide"]: p for p in c.positions()}
        self.assertEqual((pos["long"]["positions"], pos["short"]["positions"]), ("2", "1"))
        oid = c.order_ok(positionSide="long", side="sell", size="5")  # cut to 2
        self.assertEqual(c.get(oid)["size"], "2.000000000000000000")
        self.assertEqual([p["positionSide"] for p in c.positions()], ["short"])
        reply = c.call("POST", "/api/v1/account/set-position-mode", {"positionMode": "net_mode"})
        self.assert_code(reply[2], "110019")

    def test_margin_mode(self):
        """index.md, GET/Set Margin Mode: account default cross; errors.md 110019
        with positions; orders carry their own marginMode."""
        c = self.c
        self.assertEqual(c.ok("GET", "/api/v1/account/margin-mode"), {"marginMode": "cross"})
        self.assertEqual(c.ok("POST", "/api/v1/account/set-margin-mode",
                              {"marginMode": "isolated"}), {"marginMode": "isolated"})
        c.order_ok(marginMode="isolated")
        c.order_ok(marginMode="cross")
        modes = sorted(p["marginMode"] for p in c.positions())
        self.assertEqual(modes, ["cross", "isolated"])
        self.assert_code(c.call("POST", "/api/v1/account/set-margin-mode",
                                {"marginMode": "cross"})[2], "110019")
        self.assert_code(c.call("POST", "/api/v1/account/set-margin-mode",
                                {"marginMode": "both"})[2], "152002", "marginMode")

    def test_position_fields(self):
        """index.md, GET Positions: margins from GET Position Tiers' maintenance
        rate at the mark price; availablePositions less pending closes."""
        c = self.c
        self.ctl("tickers", {"BTC-USDT": {"bid": "64000", "ask": "64000.5", "last": "64000.2"},
                             "ETH-USDT": {"bid": "3200", "ask": "3200.1", "last": "3200.05"}})
        c.order_ok(size="3")
        c.order_ok(instId="ETH-USDT", marginMode="isolated", size="2")
        c.order_ok(orderType="limit", price="70000", side="sell", size="1", reduceOnly="true")
        pos = {p["instId"]: p for p in c.positions()}
        btc, eth = pos["BTC-USDT"], pos["ETH-USDT"]
        mark = D("64000.2")
        self.assertEqual(D(btc["maintenanceMargin"]), 3 * mark * BTC_CV * D("0.004"))
        self.assertEqual(D(btc["initialMargin"]), D(fake_trading.d18(3 * mark * BTC_CV / 3)))
        self.assertEqual(btc["availablePositions"], "2")
        self.assertNotIn("margin", btc)
        self.assertEqual(D(eth["margin"]), 2 * D("3200.1") * ETH_CV / 3)
        self.assertNotIn("initialMargin", eth)
        upl = (D("3200.05") - D("3200.1")) * 2 * ETH_CV
        self.assertEqual(D(eth["unrealizedPnl"]), upl)
        margin, mm = 2 * D("3200.1") * ETH_CV / 3, 2 * D("3200.05") * ETH_CV * D("0.004")
        fee = 2 * D("3200.05") * ETH_CV * TAKER
        self.assertEqual(D(eth["marginRatio"]), D(fake_trading.d18((margin + upl) / (mm + fee))))
        liq = (D("3200.1") * 2 * ETH_CV - margin) / (2 * ETH_CV * (1 - D("0.004") - TAKER))
        self.assertEqual(D(eth["liquidationPrice"]), D(fake_trading.d18(liq)))
        self.assertEqual([p["instId"] for p in c.positions("?instId=ETH-USDT")], ["ETH-USDT"])

    def test_balance(self):
        """index.md, GET Futures Account Balance: every field; frozen = margin of
        positions + orderFrozen; "assets (with non-zero balance)" only."""
        c = self.c
        c.order_ok(size="3")
        c.order_ok(instId="ETH-USDT", marginMode="isolated", size="2")
        c.order_ok(orderType="limit", price="60000", size="1")
        b = c.balance()
        fee = D("64000.5") * 3 * BTC_CV * TAKER + D("3200.1") * 2 * ETH_CV * TAKER
        balance = 10000 - fee
        upl_btc = (D("64000.2") - D("64000.5")) * 3 * BTC_CV
        upl_eth = (D("3200.05") - D("3200.1")) * 2 * ETH_CV
        pos_margin = 3 * D("64000.5") * BTC_CV / 3 + 2 * D("3200.1") * ETH_CV / 3
        order_frozen = D("60000") * BTC_CV / 3
        self.assertEqual(D(b["balance"]), balance)
        self.assertEqual(D(b["equity"]), D(fake_trading.d18(balance + upl_btc + upl_eth)))
        self.assertEqual(D(b["orderFrozen"]), D(fake_trading.d18(order_frozen)))
        self.assertEqual(D(b["frozen"]), D(fake_trading.d18(pos_margin + order_frozen)))
        self.assertEqual(D(b["available"]), D(fake_trading.d18(balance - pos_margin - order_frozen)))
        self.assertEqual(D(b["isolatedUnrealizedPnl"]), upl_eth)
        for k in ("equity", "balance", "available", "availableEquity", "frozen", "orderFrozen",
                  "equityUsd", "isolatedEquity", "isolatedUnrealizedPnl"):
            self.assertRegex(b[k], DEC18, k)
        self.add_account("zero", "s", "p", "0")
        data = Client(self.server, "zero", "s", "p").ok("GET", "/api/v1/account/balance")
        self.assertEqual(data["details"], [])
        self.assertEqual(c.ok("GET", "/api/v1/account/balance?productType=COIN-FUTURES")
                         ["details"], [])
        self.assert_code(c.call("GET", "/api/v1/account/balance?productType=SPOT")[2],
                         "152002", "productType")

    def test_leverage(self):
        """index.md, Set Leverage and GET Multiple Leverage; errors.md 152001,
        152002, 152014, 152015, 110006."""
        c = self.c
        self.assertEqual(c.ok("POST", "/api/v1/account/set-leverage",
                              {"instId": "BTC-USDT", "leverage": "10", "marginMode": "cross"}),
                         {"leverage": "10", "marginMode": "cross", "instId": "BTC-USDT",
                          "positionSide": "net"})
        rows = c.ok("GET", "/api/v1/account/batch-leverage-info?instId=BTC-USDT,ETH-USDT"
                           "&marginMode=cross")
        self.assertEqual([(r["instId"], r["leverage"], r["positionSide"]) for r in rows],
                         [("BTC-USDT", "10", "net"), ("ETH-USDT", "3", "net")])
        self.assertEqual(c.get(c.order_ok())["leverage"], "10")
        get = lambda q: c.call("GET", "/api/v1/account/batch-leverage-info" + q)[2]  # noqa: E731
        self.assert_code(get("?instId=BTC-USDT"), "152001", "marginMode")
        self.assert_code(get("?marginMode=cross"), "152001", "instId")
        self.assert_code(get("?instId=XRP-USDT&marginMode=cross"), "152014")
        self.assert_code(get("?instId=" + ",".join(["BTC-USDT"] * 21) + "&marginMode=cross"),
                         "152015")
        post = lambda r: c.call("POST", "/api/v1/account/set-leverage", r)[2]  # noqa: E731
        for bad in ("0", "151", "x"):
            self.assert_code(post({"instId": "BTC-USDT", "leverage": bad, "marginMode": "cross"}),
                             "152002", "leverage")
        self.assert_code(post({"instId": "BTC-USDT", "leverage": 5, "marginMode": "cross"}),
                         "152002", "leverage")
        self.assert_code(post({"instId": "XRP-USDT", "leverage": "5", "marginMode": "cross"}),
                         "152014")
        c.order_ok(orderType="limit", price="60000")
        self.assert_code(post({"instId": "BTC-USDT", "leverage": "5", "marginMode": "cross"}),
                         "110006")
        c.ok("POST", "/api/v1/account/set-leverage",
             {"instId": "BTC-USDT", "leverage": "5", "marginMode": "isolated"})

    def test_leverage_per_side_in_hedge_isolated(self):
        """index.md, Set Leverage: positionSide "Only required when margin mode
        is isolated in long/short mode"."""
        self.add_account("h", "s", "p", "10000", positionMode="long_short_mode")
        h = Client(self.server, "h", "s", "p")
        post = lambda r: h.call("POST", "/api/v1/account/set-leverage", r)[2]  # noqa: E731
        self.assert_code(post({"instId": "BTC-USDT", "leverage": "7", "marginMode": "isolated"}),
                         "152001", "positionSide")
        h.ok("POST", "/api/v1/account/set-leverage", {"instId": "BTC-USDT", "leverage": "7",
                                                      "marginMode": "isolated",
                                                      "positionSide": "short"})
        rows = h.ok("GET", "/api/v1/account/batch-leverage-info?instId=BTC-USDT"
                           "&marginMode=isolated")
        self.assertEqual([(r["positionSide"], r["leverage"]) for r in rows],
                         [("long", "3"), ("short", "7")])

    # ================================================== cancel and queries

    def test_cancel(self):
        """index.md, Cancel Order: data is one object; orderId or clientOrderId;
        errors.md 102068 for filled, canceled or unknown orders; a partly filled
        order ends partially_canceled."""
        c = self.c
        oid = c.order_ok(orderType="limit", price="60000", clientOrderId="c1")
        reply = c.cancel(orderId=oid)
        self.assertEqual(reply, {"code": "0", "msg": "success",
                                 "data": {"orderId": oid, "clientOrderId": "c1", "code": "0",
                                          "msg": None}})
        h = c.history()[0]
        self.assertEqual((h["state"], h["cancelSource"]), ("canceled", "user_canceled"))
        bad = {"code": "0", "msg": "success",
               "data": {"orderId": oid, "clientOrderId": None, "code": "102068",
                        "msg": fake_trading.message("102068")}}
        self.assertEqual(c.cancel(orderId=oid), bad)
        self.assertEqual(c.cancel(orderId=c.order_ok())["data"]["code"], "102068")  # filled
        self.assertEqual(c.cancel(orderId="42")["data"]["code"], "102068")
        other = c.order_ok(orderType="limit", price="60000", clientOrderId="c2")
        self.assertEqual(c.cancel(orderId=other, instId="ETH-USDT")["data"]["code"], "102068")
        self.assertEqual(c.cancel(clientOrderId="c2")["data"]["orderId"], other)
        self.assert_code(c.cancel(instId="BTC-USDT"), "152001", "orderId")
        part = c.order_ok(orderType="limit", price="64010", size="15")
        self.assertEqual(c.cancel(orderId=part)["data"]["code"], "0")
        self.assertEqual(c.get(part)["state"], "partially_canceled")
        self.ctl("settings", {"envelope": "errors_md"})
        reply = c.cancel(orderId=part)
        self.assertEqual((reply["code"], reply["msg"], reply["data"]["code"]),
                         ("1", "All operations failed", "102068"))

    def test_order_detail(self):
        """index.md, GET Order Detail: instId required; orderId or clientOrderId
        (orderId wins); one object. Unknown: docs silent; errors.md 404."""
        c = self.c
        a = c.order_ok(orderType="limit", price="60000", clientOrderId="da")
        b = c.order_ok(orderType="limit", price="60001", clientOrderId="db")
        self.assertEqual(c.detail(f"?instId=BTC-USDT&orderId={a}")["data"]["orderId"], a)
        self.assertEqual(c.detail("?instId=BTC-USDT&clientOrderId=db")["data"]["orderId"], b)
        self.assertEqual(c.detail(f"?instId=BTC-USDT&orderId={a}&clientOrderId=db")
                         ["data"]["orderId"], a)
        self.assertEqual(c.detail("?clientOrderId=db&instId=BTC-USDT")["data"]["price"],
                         "60001.000000000000000000")  # parameters in any order
        self.assert_code(c.detail("?instId=BTC-USDT&orderId=1"), "404")
        self.assert_code(c.detail(f"?instId=ETH-USDT&orderId={a}"), "404")
        self.assert_code(c.detail(f"?orderId={a}"), "152001", "instId")
        self.assert_code(c.detail("?instId=BTC-USDT"), "152003", "orderId", "clientOrderId")

    def test_pending_and_history_ignore_undocumented_parameters(self):
        """index.md, GET Active Orders / GET Order History list instId,
        orderType, state, after, before, limit (history also begin, end): an
        undocumented orderId or clientOrderId is ignored, as if absent."""
        self.assertNotIn("orderId", doc_table("GET Active Orders", "Request Parameters"))
        self.assertNotIn("clientOrderId", doc_table("GET Order History", "Request Parameters"))
        c = self.c
        a = c.order_ok(orderType="limit", price="60000", clientOrderId="pa")
        b = c.order_ok(orderType="limit", price="3000", instId="ETH-USDT")
        self.assertEqual([o["orderId"] for o in c.pending(f"?orderId={a}")], [b, a])
        self.assertEqual([o["orderId"] for o in c.pending("?clientOrderId=zz")], [b, a])
        self.assertEqual([o["orderId"] for o in c.pending("?instId=ETH-USDT")], [b])
        self.assertEqual(c.pending("?orderType=market"), [])
        self.assertEqual(len(c.pending("?state=live")), 2)
        self.assert_code(c.call("GET", "/api/v1/trade/orders-pending?state=filled")[2],
                         "152002", "state")
        f1, f2 = c.order_ok(), c.order_ok(side="sell")
        self.assertEqual([o["orderId"] for o in c.history(f"?orderId={f1}")], [f2, f1])
        self.assertEqual(c.history("?state=filled&instId=ETH-USDT"), [])

    def test_pagination(self):
        """index.md, GET Active Orders / GET Order History: after (older than),
        before (newer than), not both; limit default 20, max 100; newest first
        (index.md, General Info)."""
        self.ctl("limits", {"trade": None})
        c = self.c
        ids = [c.order_ok(orderType="limit", price="50000", size="0.1") for _ in range(105)]
        newest_first = list(reversed(ids))
        self.assertEqual([o["orderId"] for o in c.pending()], newest_first[:20])
        self.assertEqual(len(c.pending("?limit=500")), 100)
        self.assertEqual([o["orderId"] for o in c.pending(f"?after={ids[50]}&limit=3")],
                         [ids[49], ids[48], ids[47]])
        self.assertEqual([o["orderId"] for o in c.pending(f"?before={ids[50]}&limit=3")],
                         [ids[53], ids[52], ids[51]])
        for q in (f"?after={ids[1]}&before={ids[0]}", "?limit=0", "?limit=x", "?after=x"):
            self.assertEqual(c.call("GET", "/api/v1/trade/orders-pending" + q)[2]["code"],
                             "152002", q)

    def test_history_begin_end(self):
        """index.md, GET Order History / GET Trade History: begin and end (ms)."""
        c = self.c
        first = c.order_ok()
        t0 = int(c.get(first)["createTime"])
        time.sleep(0.01)
        second = c.order_ok(side="sell")
        t1 = int(c.get(second)["createTime"])
        self.assertEqual([o["orderId"] for o in c.history(f"?end={t0}")], [first])
        self.assertEqual([o["orderId"] for o in c.history(f"?begin={t1}")], [second])
        # Fills filter on their own ts, which may be a millisecond after the
        # order's createTime.
        fill_ts = {f["orderId"]: int(f["ts"]) for f in c.fills()}
        self.assertEqual([f["orderId"] for f in c.fills(f"?begin={fill_ts[second]}")], [second])
        self.assertEqual([f["orderId"] for f in c.fills(f"?end={fill_ts[first]}")], [first])

    def test_fills_history_filters(self):
        """index.md, GET Trade History: instId, orderId, after/before (tradeId),
        limit; newest first."""
        c = self.c
        a = c.order_ok()
        b = c.order_ok(instId="ETH-USDT")
        d = c.order_ok(side="sell")
        fills = c.fills()
        self.assertEqual([f["orderId"] for f in fills], [d, b, a])
        self.assertEqual([f["orderId"] for f in c.fills("?instId=BTC-USDT")], [d, a])
        self.assertEqual([f["orderId"] for f in c.fills(f"?orderId={b}")], [b])
        self.assertEqual([f["orderId"] for f in c.fills(f"?after={fills[0]['tradeId']}")], [b, a])
        self.assertEqual([f["orderId"] for f in c.fills(f"?before={fills[2]['tradeId']}&limit=1")],
                         [b])
        self.assertEqual(len(c.fills("?limit=1")), 1)

    # ======================================================= rate limits

    def test_trade_rate_limit(self):
        """index.md, Rate Limits: trading APIs 30 requests / 10 s per user ->
        errors.md 429, the one HTTP 429. Settable; default scope counts every
        /api/v1/trade/ path, refused requests included."""
        self.assertEqual(self.server.control("GET", "limits")[2]["trade"], 30)
        self.ctl("limits", {"trade": 3, "trade_window_ms": 300})
        c = self.c
        c.pending()
        c.order_ok()
        c.history()
        c.balance()  # account paths are not counted by the default scope
        status, _, reply = c.call("GET", "/api/v1/trade/orders-pending")
        self.assertEqual(status, 429)
        self.assert_code(reply, "429")
        self.assertEqual(self.stats()["rate_limited"], 1)
        time.sleep(0.35)
        c.pending()
        self.ctl("limits", {"trade_scope": "orders"})
        for _ in range(5):
            c.pending()
        self.ctl("limits", {"trade_scope": "private", "trade": 1})
        time.sleep(0.35)
        c.balance()
        self.assertEqual(c.call("GET", "/api/v1/account/positions")[0], 429)

    def test_ip_limit_bans_every_endpoint_with_403(self):
        """index.md, REST API Limits (500 / minute per IP, then 5 minutes) and
        Network Firewall Restrictions (HTTP 403); settable."""
        self.assertEqual(self.server.control("GET", "limits")[2]["ip_ban_ms"], 300_000)
        self.ctl("limits", {"ip": 4, "ip_window_ms": 300, "ip_ban_ms": 300})
        for _ in range(3):
            self.server.request("GET", "/api/v1/market/tickers")
        self.c.balance()
        status, hdrs, body = self.server.raw("GET", "/api/v1/market/tickers")
        self.assertEqual(status, 403)
        self.assertIn(b"403 Forbidden", body)
        self.assertEqual(self.server.raw("GET", "/api/v1/account/balance")[0], 403)
        self.assertEqual(self.server.control("GET", "stats")[0], 200)  # control is not limited
        st = self.stats()
        self.assertEqual((st["ip_bans"], st["ip_limited"]), (1, 2))
        time.sleep(0.65)
        self.assertEqual(self.server.raw("GET", "/api/v1/market/tickers")[0], 200)
        self.ctl("limits", {"ip": None, "ip_long": 1, "ip_long_window_ms": 300,
                            "ip_long_ban_ms": 100, "clear_bans": True})
        self.server.raw("GET", "/api/v1/market/tickers")
        self.assertEqual(self.server.raw("GET", "/api/v1/market/tickers")[0], 403)

    # ============================================================= faults

    def fault(self, path, kind, **extra):
        self.ctl("faults", dict(path=path, kind=kind, **extra))

    def test_timeout_executes_then_answers_late(self):
        """Fault timeout: the order is placed, the answer comes after delay_ms
        (the client has given up)."""
        self.fault("/api/v1/trade/order", "timeout", delay_ms=400)
        with self.assertRaises(socket.timeout):
            self.c.call("POST", "/api/v1/trade/order", {
                "instId": "BTC-USDT", "marginMode": "cross", "side": "buy",
                "orderType": "market", "size": "1"}, timeout=0.15)
        self.assertEqual(len(self.state()["orders"]), 1)

    def test_drop_executes_then_closes(self):
        """Fault drop: executed, then the connection closes with no answer."""
        self.fault("/api/v1/trade/order", "drop")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.c.order()
        self.assertEqual(len(self.state()["orders"]), 1)

    def test_before_timeout_does_nothing(self):
        """Fault before_timeout: a delay, no answer, nothing executed (the nonce
        is still unused)."""
        self.fault("/api/v1/trade/order", "before_timeout", delay_ms=200)
        req = {"instId": "BTC-USDT", "marginMode": "cross", "side": "buy",
               "orderType": "market", "size": "1"}
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, socket.timeout)):
            self.c.call("POST", "/api/v1/trade/order", req, nonce="same", timeout=5)
        self.assertEqual(self.state()["orders"], [])
        self.assertEqual(self.c.call("POST", "/api/v1/trade/order", req, nonce="same")[2]["code"],
                         "0")

    def test_answering_faults_do_not_execute(self):
        """Faults http_500, http_403, http_429, code, malformed, partial answer
        instead of executing; count consumes them in order."""
        path = "/api/v1/trade/order"
        self.fault(path, "http_500")
        self.fault(path, "http_403")
        self.fault(path, "http_429", retry_after=2)
        self.fault(path, "code", code="103013", msg="Internal error")
        self.fault(path, "malformed")
        self.fault(path, "partial", count=1)
        req = json.dumps({"instId": "BTC-USDT", "marginMode": "cross", "side": "buy",
                          "orderType": "market", "size": "1"}).encode()
        s, _, b = self.server.raw("POST", path, req)
        self.assertEqual((s, b), (500, b"Internal Server Error"))
        s, _, b = self.server.raw("POST", path, req)
        self.assertEqual(s, 403)
        s, h, b = self.server.raw("POST", path, req)
        self.assertEqual((s, h["Retry-After"], json.loads(b)["code"]), (429, "2", "429"))
        s, _, b = self.server.raw("POST", path, req)
        self.assertEqual((s, json.loads(b)["code"], json.loads(b)["msg"]),
                         (200, "103013", "Internal error"))
        s, _, b = self.server.raw("POST", path, req)
        self.assertRaises(ValueError, json.loads, b)
        s, _, b = self.server.raw("POST", path, req)
        self.assertRaises(ValueError, json.loads, b)
        self.assertEqual(self.state()["orders"], [])
        self.assertEqual(self.c.order()["code"], "0")  # faults used up
        self.assertEqual(self.stats()["faults"], 6)

    # ====================================================== control API

    def test_request_log(self):
        """GET /_control/requests: method, path, query (dict), body, time of
        every BloFin request since reset; filter ?path=."""
        self.server.request("GET", "/api/v1/market/tickers?instId=BTC-USDT&x=1")
        self.c.order(size="1")
        log = self.server.control("GET", "requests")[2]["requests"]
        self.assertEqual([(e["method"], e["path"]) for e in log],
                         [("GET", "/api/v1/market/tickers"), ("POST", "/api/v1/trade/order")])
        self.assertEqual(log[0]["query"], {"instId": "BTC-USDT", "x": "1"})
        self.assertEqual(json.loads(log[1]["body"])["size"], "1")
        self.assertEqual((log[1]["status"], log[1]["code"]), (200, "0"))
        self.assertLessEqual(abs(log[1]["time"] - time.time() * 1000), 5000)
        # what a test of the client checks: only documented parameters were sent
        documented = set(doc_table("Place Order", "Request Parameters"))
        self.assertLessEqual(set(json.loads(log[1]["body"])), documented)
        only = self.server.control("GET", "requests", query="?path=/api/v1/trade/order")[2]
        self.assertEqual(len(only["requests"]), 1)
        self.assertEqual(self.stats()["requests"], {"GET /api/v1/market/tickers": 1,
                                                    "POST /api/v1/trade/order": 1})
        self.server.control("POST", "reset")
        self.assertEqual(self.server.control("GET", "requests")[2]["requests"], [])

    def test_control_validation(self):
        """The control API refuses malformed input with HTTP 400."""
        ctl = self.server.control
        self.assertEqual(ctl("POST", "accounts", {"apiKey": "k"})[0], 400)
        self.assertEqual(ctl("POST", "accounts", {"apiKey": "k", "secret": "s",
                                                  "passphrase": "p", "balance": "x"})[0], 400)
        self.assertEqual(ctl("POST", "limits", {"trade": -1})[0], 400)
        self.assertEqual(ctl("POST", "limits", {"trade": "3"})[0], 400)
        self.assertEqual(ctl("POST", "limits", {"nope": 1})[0], 400)
        self.assertEqual(ctl("POST", "settings", {"envelope": "x"})[0], 400)
        self.assertEqual(ctl("POST", "settings", {"maker_fee": 0.1})[0], 400)
        self.assertEqual(ctl("POST", "tickers", {"BTC-USDT": {"bid": "1"}})[0], 400)
        self.assertEqual(ctl("POST", "instruments", {"BTC-USDT": {"state": "gone"}})[0], 400)
        self.assertEqual(ctl("POST", "faults", {"path": "/x", "kind": "boom"})[0], 400)
        self.assertEqual(ctl("GET", "accounts/state", query="?apiKey=none")[0], 404)
        self.assertEqual(ctl("GET", "nothing")[0], 404)
        self.assertEqual(ctl("GET", "settings")[2]["duplicate_scope"], "live")
        st = self.state()
        self.assertEqual((st["balance"], st["positionMode"], st["marginMode"],
                          st["leverage"]["BTC-USDT"]), ("10000", "net_mode", "cross", "3"))

    def test_concurrent_orders_are_serialized(self):
        """All state is behind one lock: parallel orders all land once."""
        self.ctl("limits", {"trade": None})
        results = []

        def place():
            results.append(self.c.order(size="0.1")["data"][0]["orderId"])

        threads = [threading.Thread(target=place) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(set(results)), 20)
        self.assertEqual(self.c.positions()[0]["positions"], "2")


if __name__ == "__main__":
    unittest.main(verbosity=1)
