#!/usr/bin/env python3
"""Self-test of the fake BloFin server's signed trading API (stdlib only).

Starts fake_blofin.py as a subprocess on a free loopback port, signs every
request itself (hmac/hashlib/base64) and checks each endpoint, each error code
and the trading rules with hand-computed Decimal numbers.

    python3 tests/fake_blofin/test_fake_trading.py
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
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

KEY, SECRET, PHRASE = "test-key", "test-secret", "test-passphrase"
BTC_CV = D("0.001")


def dec(d):
    """A Decimal as the server writes it: plain digits, no exponent, "0" for zero."""
    return "0" if d == 0 else format(d.normalize(), "f")


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
                with open(os.path.join(self.dir.name, "server.log")) as f:
                    raise RuntimeError("fake_blofin.py did not start:\n" + f.read())
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

    def request(self, method, target, body=b"", headers=None):
        """Returns (status, response headers, parsed JSON body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            hdrs = dict(headers or {})
            if method == "POST":
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, target, body=body if method == "POST" else None, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), json.loads(data) if data else None
        finally:
            conn.close()

    def control(self, method, what, obj=None, query=""):
        body = json.dumps(obj).encode() if obj is not None else b""
        return self.request(method, "/_control/" + what + query, body)


class Client:
    """Signs requests for one account; keyword overrides create faulty requests."""

    def __init__(self, server, key=KEY, secret=SECRET, passphrase=PHRASE):
        self.server, self.key, self.secret, self.passphrase = server, key, secret, passphrase

    def call(self, method, target, obj=None, *, body_text=None, ts=None, nonce=None, key=None,
             secret=None, passphrase=None, send_body=None, send_target=None, drop=(),
             sign_override=None):
        body = body_text if body_text is not None else json.dumps(obj) if obj is not None else ""
        ts = str(int(time.time() * 1000)) if ts is None else ts
        nonce = uuid.uuid4().hex if nonce is None else nonce
        signature = sign(secret or self.secret, target + method + ts + nonce + body)
        headers = {
            "ACCESS-KEY": key or self.key,
            "ACCESS-SIGN": sign_override or signature,
            "ACCESS-TIMESTAMP": ts,
            "ACCESS-NONCE": nonce,
            "ACCESS-PASSPHRASE": passphrase or self.passphrase,
        }
        for name in drop:
            del headers[name]
        raw = (send_body if send_body is not None else body).encode()
        return self.server.request(method, send_target or target, raw, headers)

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
        assert reply["code"] == "0", reply
        return reply["data"][0]["orderId"]

    def cancel(self, **fields):
        return self.call("POST", "/api/v1/trade/cancel-order", fields)[2]

    def balance(self):
        return self.ok("GET", "/api/v1/account/balance")["details"][0]

    def positions(self, inst=""):
        return self.ok("GET", "/api/v1/account/positions" + (f"?instId={inst}" if inst else ""))

    def history(self, query=""):
        return self.ok("GET", "/api/v1/trade/orders-history" + query)

    def pending(self, query=""):
        return self.ok("GET", "/api/v1/trade/orders-pending" + query)

    def fills(self, query=""):
        return self.ok("GET", "/api/v1/trade/fills-history" + query)


class FakeTradingTest(unittest.TestCase):
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

    def add_account(self, key, secret, phrase, balance):
        status, _, _ = self.server.control("POST", "accounts", {
            "apiKey": key, "secret": secret, "passphrase": phrase, "balance": balance})
        self.assertEqual(status, 200)

    def set_ticker(self, inst, bid, ask, last):
        status, _, _ = self.server.control("POST", "tickers",
                                           {inst: {"bid": bid, "ask": ask, "last": last}})
        self.assertEqual(status, 200)

    def state(self, key=KEY):
        status, _, st = self.server.control("GET", "accounts/state", query=f"?apiKey={key}")
        self.assertEqual(status, 200)
        return st

    def stats(self):
        return self.server.control("GET", "stats")[2]

    def assert_order_fail(self, reply, code, msg=None, cid=""):
        self.assertEqual(reply["code"], "1", reply)
        self.assertEqual(reply["msg"], "All operations failed")
        item = reply["data"][0]
        self.assertIsNone(item["orderId"])
        self.assertEqual(item["clientOrderId"], cid)
        self.assertEqual(item["code"], code, reply)
        if msg is not None:
            self.assertEqual(item["msg"], msg)

    def assert_top_fail(self, reply, code, msg):
        self.assertEqual((reply["code"], reply["msg"], reply["data"]), (code, msg, []))

    # ------------------------------------------------------ authentication

    def assert_auth_fail(self, result, code, msg):
        status, _, reply = result
        self.assertEqual(status, 401)
        self.assertEqual(reply, {"code": code, "msg": msg, "data": []})

    def test_signature_rule_and_success(self):
        # The rule, spelled out once by hand: Base64 of the hex text, 88 chars.
        ts, nonce, target = "1700000000000", "n-1", "/api/v1/account/balance"
        hexdigest = hmac.new(b"s", (target + "GET" + ts + nonce).encode(),
                             hashlib.sha256).hexdigest()
        self.assertEqual(sign("s", target + "GET" + ts + nonce),
                         base64.b64encode(hexdigest.encode()).decode())
        self.assertEqual(len(sign("s", "x")), 88)
        # A GET with a query string is signed over path + "?" + query.
        self.c.order_ok(orderType="limit", price="60000", clientOrderId="q1")
        data = self.c.pending("?instId=BTC-USDT&clientOrderId=q1")
        self.assertEqual([o["clientOrderId"] for o in data], ["q1"])

    def test_missing_header_and_unknown_key(self):
        for name in ("ACCESS-KEY", "ACCESS-SIGN", "ACCESS-TIMESTAMP", "ACCESS-NONCE",
                     "ACCESS-PASSPHRASE"):
            self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", drop=(name,)),
                                  "152401", f"Missing header {name}")
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", key="nobody"),
                              "152401", "Access key does not exist")
        self.assertEqual(self.stats()["auth_failures"], {"152401": 6})

    def test_wrong_passphrase(self):
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", passphrase="nope"),
                              "152403", "Access passphrase is incorrect")

    def test_timestamp_checks(self):
        now = int(time.time() * 1000)
        for ts in (str(now - 61_000), str(now + 61_000), "abc", "1.5e12", str(now) + ".0"):
            self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", ts=ts),
                                  "152405", "Request timestamp expired")
        # 50 s off is still inside the 60 s window.
        status, _, _ = self.c.call("GET", "/api/v1/account/balance", ts=str(now - 50_000))
        self.assertEqual(status, 200)

    def test_reused_nonce(self):
        status, _, _ = self.c.call("GET", "/api/v1/account/balance", nonce="once")
        self.assertEqual(status, 200)
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", nonce="once"),
                              "152407", "Nonce already used")
        # Nonces are per key: another account may use the same one.
        self.add_account("other", "s2", "p2", "5")
        other = Client(self.server, "other", "s2", "p2")
        self.assertEqual(other.call("GET", "/api/v1/account/balance", nonce="once")[0], 200)

    def test_wrong_signature(self):
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", secret="wrong"),
                              "152409", "Signature verification failed")
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance",
                                          sign_override="garbage"),
                              "152409", "Signature verification failed")
        # A request refused for its signature does not use up its nonce.
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance", nonce="n1",
                                          secret="wrong"),
                              "152409", "Signature verification failed")
        self.assertEqual(self.c.call("GET", "/api/v1/account/balance", nonce="n1")[0], 200)
        self.assertEqual(self.stats()["auth_failures"], {"152409": 3})

    def test_body_or_query_altered_after_signing(self):
        signed = {"instId": "BTC-USDT", "marginMode": "cross", "side": "buy",
                  "orderType": "market", "size": "1"}
        altered = json.dumps(dict(signed, size="2"))
        self.assert_auth_fail(self.c.call("POST", "/api/v1/trade/order", signed,
                                          send_body=altered),
                              "152409", "Signature verification failed")
        self.assertEqual(self.state()["orders"], [])
        self.assert_auth_fail(self.c.call("GET", "/api/v1/trade/orders-pending?instId=BTC-USDT",
                                          send_target="/api/v1/trade/orders-pending?instId=ETH-USDT"),
                              "152409", "Signature verification failed")
        # Method is part of the prehash too: sign as GET, send as POST.
        ts, nonce = str(int(time.time() * 1000)), "m1"
        headers = {"ACCESS-KEY": KEY, "ACCESS-PASSPHRASE": PHRASE, "ACCESS-TIMESTAMP": ts,
                   "ACCESS-NONCE": nonce,
                   "ACCESS-SIGN": sign(SECRET, "/api/v1/trade/cancel-order" + "GET" + ts + nonce)}
        self.assert_auth_fail(self.server.request("POST", "/api/v1/trade/cancel-order", b"",
                                                  headers),
                              "152409", "Signature verification failed")

    def test_auth_failures_counted_by_code(self):
        self.c.call("GET", "/api/v1/account/balance", key="x")
        self.c.call("GET", "/api/v1/account/balance", passphrase="x")
        self.c.call("GET", "/api/v1/account/balance", ts="1")
        self.c.call("GET", "/api/v1/account/balance", nonce="dup")
        self.c.call("GET", "/api/v1/account/balance", nonce="dup")
        self.c.call("GET", "/api/v1/account/balance", secret="x")
        self.c.call("GET", "/api/v1/account/balance", secret="x")
        self.assertEqual(self.stats()["auth_failures"],
                         {"152401": 1, "152403": 1, "152405": 1, "152407": 1, "152409": 2})
        self.server.control("POST", "reset")
        self.assertEqual(self.stats()["auth_failures"], {})

    # --------------------------------------------------------- rate limit

    def test_rate_limit(self):
        self.assertEqual(self.server.control("POST", "limits", {"trade": 3})[0], 200)
        oid = self.c.order_ok(orderType="limit", price="60000")
        self.assertEqual(self.c.cancel(orderId=oid)["code"], "0")
        self.assertEqual(self.c.order()["code"], "0")
        status, headers, reply = self.c.call("POST", "/api/v1/trade/order", {
            "instId": "BTC-USDT", "marginMode": "cross", "side": "buy", "orderType": "market",
            "size": "1"})
        self.assertEqual(status, 429)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertEqual(reply, {"code": "429", "msg": "Too Many Requests", "data": []})
        status, _, _ = self.c.call("POST", "/api/v1/trade/cancel-order", {"orderId": oid})
        self.assertEqual(status, 429)
        # Reads are not limited, and the limit is per key.
        self.assertEqual(self.c.call("GET", "/api/v1/account/balance")[0], 200)
        self.add_account("k2", "s2", "p2", "1000")
        self.assertEqual(Client(self.server, "k2", "s2", "p2").order()["code"], "0")
        self.assertEqual(self.stats()["rate_limited"], 2)
        self.assertEqual(len(self.state()["orders"]), 2)

    def test_default_rate_limit_is_30(self):
        for _ in range(30):
            self.assertEqual(self.c.cancel(orderId="1")["code"], "1")
        status, headers, _ = self.c.call("POST", "/api/v1/trade/cancel-order", {"orderId": "1"})
        self.assertEqual((status, headers.get("Retry-After")), (429, "1"))

    # ------------------------------------------------------ order params

    def test_order_parameter_errors(self):
        for text in ("{not json", "", "[1, 2]"):
            status, _, reply = self.c.call("POST", "/api/v1/trade/order", body_text=text)
            self.assertEqual(status, 200)
            self.assert_top_fail(reply, "152001", "Parameter body error")
        cases = [
            (dict(instId=None), "instId"), (dict(marginMode="none"), "marginMode"),
            (dict(marginMode=None), "marginMode"), (dict(positionSide="long"), "positionSide"),
            (dict(side="hold"), "side"), (dict(side=None), "side"),
            (dict(orderType="stop"), "orderType"), (dict(orderType="limit"), "price"),
            (dict(orderType="limit", price="abc"), "price"), (dict(size=None), "size"),
            (dict(size=1), "size"), (dict(size="1e2"), "size"), (dict(reduceOnly="yes"), "reduceOnly"),
            (dict(clientOrderId="x" * 33), "clientOrderId"),
        ]
        for fields, name in cases:
            self.assert_top_fail(self.c.order(**fields), "152001", f"Parameter {name} error")
        self.assert_top_fail(self.c.order(instId="FOO-USDT"), "152002",
                             "Instrument FOO-USDT does not exist")
        self.assertEqual(self.state()["orders"], [])

    def test_size_and_price_rules(self):
        self.assert_order_fail(self.c.order(size="0.15", clientOrderId="c1"), "102014",
                               "Order size 0.15 must be a positive multiple of lotSize 0.1 "
                               "and at least minSize 0.1", cid="c1")
        for size in ("0", "-1", "0.05"):
            self.assert_order_fail(self.c.order(size=size), "102014")
        self.assert_order_fail(self.c.order(instId="SOL-USDT", size="0.5"), "102014")
        self.assert_order_fail(self.c.order(orderType="limit", price="64000.05"), "102015",
                               "Order price 64000.05 must be a positive multiple of tickSize 0.1")
        for price in ("0", "-100"):
            self.assert_order_fail(self.c.order(orderType="limit", price=price), "102015")
        self.c.order_ok(instId="SOL-USDT", size="2", orderType="limit", price="140.005")
        self.c.order_ok(instId="ETH-USDT", size="0.3", orderType="limit", price="3000.01")
        self.c.order_ok(size="0.1", clientOrderId="x" * 32)

    def test_duplicate_client_order_id(self):
        self.c.order_ok(orderType="limit", price="60000", clientOrderId="abc")
        self.assert_order_fail(self.c.order(clientOrderId="abc"), "102050",
                               "Duplicate clientOrderId abc", cid="abc")
        # A rejected order does not use up its clientOrderId.
        self.assert_order_fail(self.c.order(size="0.15", clientOrderId="def"), "102014", cid="def")
        self.c.order_ok(clientOrderId="def")
        # Still a duplicate after the first order is canceled.
        self.assertEqual(self.c.cancel(clientOrderId="abc")["code"], "0")
        self.assert_order_fail(self.c.order(clientOrderId="abc"), "102050", cid="abc")

    # ----------------------------------------------------------- fills

    def test_market_buy_and_all_views(self):
        oid = self.c.order_ok(clientOrderId="m1")
        fill = D("64000.5")
        notional = fill * 1 * BTC_CV
        fee = notional * D("0.0006")
        self.assertEqual(fee, D("0.0384003"))
        [order] = self.c.history()
        self.assertEqual(order, dict(order, orderId=oid, clientOrderId="m1", instId="BTC-USDT",
                                     marginMode="cross", positionSide="net", side="buy",
                                     orderType="market", price="0", size="1", reduceOnly="false",
                                     leverage="3", state="filled", filledSize="1",
                                     averagePrice="64000.5", fee="0.0384003", pnl="0"))
        self.assertTrue(order["createTime"].isdigit() and order["updateTime"].isdigit())
        self.assertEqual(self.c.pending(), [])
        [f] = self.c.fills()
        self.assertEqual(f, dict(f, instId="BTC-USDT", orderId=oid, clientOrderId="m1",
                                 fillPrice="64000.5", fillSize="1", side="buy",
                                 positionSide="net", fee="0.0384003"))
        self.assertTrue(f["tradeId"].isdigit() and f["ts"].isdigit())
        [pos] = self.c.positions()
        upl = (D("64000.2") - fill) * 1 * BTC_CV
        self.assertEqual(pos, dict(pos, instId="BTC-USDT", instType="SWAP", marginMode="cross",
                                   positionSide="net", positions="1", availablePositions="1",
                                   averagePrice="64000.5", markPrice="64000.2",
                                   unrealizedPnl=dec(upl), leverage="3"))
        self.assertTrue(pos["positionId"].isdigit())
        self.assertEqual(self.c.positions("ETH-USDT"), [])
        balance = D(10000) - fee
        bal = self.c.ok("GET", "/api/v1/account/balance")
        self.assertEqual(bal["totalEquity"], dec(balance + upl))
        self.assertEqual(bal["isolatedEquity"], "0")
        self.assertEqual(bal["details"], [{
            "currency": "USDT", "equity": dec(balance + upl), "balance": dec(balance),
            "available": dec(balance - notional / 3), "frozen": dec(notional / 3),
            "unrealizedPnl": dec(upl), "isolatedEquity": "0"}])
        st = self.state()
        self.assertEqual(st["balance"], "9999.9615997")
        self.assertEqual(st["leverage"], {"BTC-USDT": "3", "ETH-USDT": "3", "SOL-USDT": "3"})
        self.assertEqual(len(st["orders"]), 1)
        self.assertEqual(len(st["fills"]), 1)
        self.assertEqual(st["positions"], [pos])

    def test_market_sell_fills_at_bid(self):
        self.c.order_ok(side="sell", size="2")
        [pos] = self.c.positions()
        self.assertEqual((pos["positions"], pos["averagePrice"]), ("-2", "64000"))
        # short: (last - avg) x size, size negative
        self.assertEqual(pos["unrealizedPnl"], dec((D("64000.2") - 64000) * -2 * BTC_CV))

    def test_limit_order_rests_then_fills_after_ticker_update(self):
        oid = self.c.order_ok(orderType="limit", price="63000", size="2", clientOrderId="L1")
        [live] = self.c.pending()
        self.assertEqual((live["orderId"], live["state"], live["price"], live["filledSize"]),
                         (oid, "live", "63000", "0"))
        self.assertEqual(self.c.history(), [])
        self.assertEqual(self.c.balance()["frozen"], "42")  # 63000 x 2 x 0.001 / 3
        self.assertEqual(self.c.balance()["available"], "9958")
        # Ask above the limit: still resting.
        self.set_ticker("BTC-USDT", "63000", "63000.1", "63000")
        self.assertEqual(len(self.c.pending()), 1)
        # Ask at or under the limit: filled at the limit price as maker.
        self.set_ticker("BTC-USDT", "62900", "62900.5", "62900.2")
        self.assertEqual(self.c.pending(), [])
        [order] = self.c.history()
        fee = D(63000) * 2 * BTC_CV * D("0.0002")
        self.assertEqual((order["state"], order["filledSize"], order["averagePrice"],
                          order["fee"]), ("filled", "2", "63000", dec(fee)))
        self.assertEqual(fee, D("0.0252"))
        [f] = self.c.fills(f"?orderId={oid}")
        self.assertEqual((f["fillPrice"], f["fillSize"], f["fee"]), ("63000", "2", "0.0252"))
        [pos] = self.c.positions()
        self.assertEqual((pos["positions"], pos["averagePrice"], pos["markPrice"]),
                         ("2", "63000", "62900.2"))
        self.assertEqual(self.state()["balance"], dec(D(10000) - fee))

    def test_sell_limit_fills_when_bid_reaches_price(self):
        oid = self.c.order_ok(side="sell", orderType="limit", price="65000")
        self.set_ticker("BTC-USDT", "64999.9", "65000", "65000")
        self.assertEqual(self.c.pending()[0]["orderId"], oid)
        self.set_ticker("BTC-USDT", "65000", "65000.1", "65000")
        self.assertEqual(self.c.pending(), [])
        self.assertEqual(self.c.positions()[0]["positions"], "-1")
        self.assertEqual(self.c.history()[0]["fee"], dec(D(65) * D("0.0002")))

    def test_limit_order_crossing_on_arrival_is_taker_at_touch(self):
        self.c.order_ok(orderType="limit", price="65000")
        [order] = self.c.history()
        self.assertEqual((order["price"], order["averagePrice"], order["fee"]),
                         ("65000", "64000.5", "0.0384003"))
        self.c.order_ok(side="sell", orderType="limit", price="63000", size="0.5")
        self.assertEqual(self.c.history()[0]["averagePrice"], "64000")

    def test_resting_orders_of_all_accounts_match_in_order(self):
        self.add_account("k2", "s2", "p2", "1000")
        other = Client(self.server, "k2", "s2", "p2")
        a = self.c.order_ok(orderType="limit", price="63000")
        b = other.order_ok(orderType="limit", price="62000")
        self.set_ticker("BTC-USDT", "62999", "63000", "63000")
        self.assertEqual(self.c.pending(), [])
        self.assertEqual(other.pending()[0]["orderId"], b)
        self.set_ticker("BTC-USDT", "61000", "61000.5", "61000")
        self.assertEqual(other.pending(), [])
        self.assertEqual(self.c.history()[0]["orderId"], a)

    def test_filters_and_newest_first(self):
        o1 = self.c.order_ok(orderType="limit", price="60000", clientOrderId="a")
        o2 = self.c.order_ok(instId="ETH-USDT", orderType="limit", price="3000", clientOrderId="b")
        o3 = self.c.order_ok(orderType="limit", price="61000", clientOrderId="c")
        self.assertTrue(int(o1) < int(o2) < int(o3))
        self.assertEqual([o["orderId"] for o in self.c.pending()], [o3, o2, o1])
        self.assertEqual([o["orderId"] for o in self.c.pending("?instId=BTC-USDT")], [o3, o1])
        self.assertEqual([o["orderId"] for o in self.c.pending(f"?orderId={o2}")], [o2])
        self.assertEqual([o["orderId"] for o in self.c.pending("?clientOrderId=c")], [o3])
        m1 = self.c.order_ok(size="0.1")
        m2 = self.c.order_ok(instId="ETH-USDT", size="0.1")
        self.assertEqual(self.c.cancel(orderId=o1)["code"], "0")
        self.assertEqual([o["orderId"] for o in self.c.history()], [m2, m1, o1])
        self.assertEqual([o["orderId"] for o in self.c.history("?instId=ETH-USDT")], [m2])
        self.assertEqual([f["orderId"] for f in self.c.fills()], [m2, m1])
        self.assertEqual([f["orderId"] for f in self.c.fills("?instId=BTC-USDT")], [m1])
        self.assertEqual(self.c.fills("?orderId=" + o1), [])

    # ------------------------------------------------------------ cancel

    def test_cancel(self):
        o1 = self.c.order_ok(orderType="limit", price="60000", clientOrderId="c1")
        o2 = self.c.order_ok(orderType="limit", price="60000", clientOrderId="c2")
        self.assertEqual(self.c.cancel(orderId=o1, instId="BTC-USDT"), {
            "code": "0", "msg": "success",
            "data": [{"orderId": o1, "clientOrderId": "c1", "code": "0", "msg": "success"}]})
        self.assertEqual(self.c.cancel(clientOrderId="c2")["data"][0]["orderId"], o2)
        gone = "Order does not exist or is already complete"
        reply = self.c.cancel(orderId=o1)
        self.assertEqual((reply["code"], reply["msg"]), ("1", "All operations failed"))
        self.assertEqual(reply["data"], [{"orderId": o1, "clientOrderId": "", "code": "102041",
                                          "msg": gone}])
        self.assertEqual(self.c.cancel(orderId="999")["data"][0]["code"], "102041")
        self.assertEqual(self.c.cancel(clientOrderId="nope")["data"][0],
                         {"orderId": None, "clientOrderId": "nope", "code": "102041", "msg": gone})
        o3 = self.c.order_ok(orderType="limit", price="60000")
        self.assertEqual(self.c.cancel(orderId=o3, instId="ETH-USDT")["data"][0]["code"], "102041")
        filled = self.c.order_ok()
        self.assertEqual(self.c.cancel(orderId=filled)["data"][0]["code"], "102041")
        self.assert_top_fail(self.c.cancel(), "152001", "Parameter orderId error")
        self.assertEqual({o["orderId"]: o["state"] for o in self.c.history()},
                         {o1: "canceled", o2: "canceled", filled: "filled"})
        self.assertEqual([o["orderId"] for o in self.c.pending()], [o3])
        # Canceled orders release their margin and never fill.
        self.assertEqual(self.c.cancel(orderId=o3)["code"], "0")
        self.assertEqual(self.c.balance()["frozen"], dec(D("64000.5") * BTC_CV / 3))
        self.set_ticker("BTC-USDT", "59000", "59000", "59000")
        self.assertEqual(len(self.c.fills()), 1)

    # --------------------------------------------------------- positions

    def test_partial_close_with_reduce_only(self):
        self.c.order_ok(size="3")
        self.set_ticker("BTC-USDT", "65000", "65000.5", "65000.2")
        oid = self.c.order_ok(side="sell", size="1", reduceOnly="true")
        pnl1 = (D(65000) - D("64000.5")) * 1 * BTC_CV
        [order] = self.c.history(f"?orderId={oid}")
        self.assertEqual((order["pnl"], order["reduceOnly"], order["size"]),
                         (dec(pnl1), "true", "1"))
        [pos] = self.c.positions()
        self.assertEqual((pos["positions"], pos["averagePrice"]), ("2", "64000.5"))
        # Larger than the position: cut to it, and the position is closed.
        oid = self.c.order_ok(side="sell", size="5", reduceOnly="true")
        [order] = self.c.history(f"?orderId={oid}")
        self.assertEqual((order["size"], order["filledSize"], order["pnl"]),
                         ("2", "2", dec(pnl1 * 2)))
        self.assertEqual(self.c.positions(), [])
        fees = (D("64000.5") * 3 + D(65000) * 3) * BTC_CV * D("0.0006")
        self.assertEqual(self.state()["balance"], dec(D(10000) + pnl1 * 3 - fees))
        self.assertEqual(self.c.balance()["frozen"], "0")

    def test_reduce_only_rejections(self):
        msg = "Reduce-only order would increase position"
        self.assert_order_fail(self.c.order(side="sell", reduceOnly="true"), "102036", msg)
        self.c.order_ok(size="1")
        self.assert_order_fail(self.c.order(side="buy", reduceOnly="true", clientOrderId="r"),
                               "102036", msg, cid="r")
        # A resting reduce-only order that no longer reduces when it would fill is canceled.
        oid = self.c.order_ok(side="sell", orderType="limit", price="66000", reduceOnly="true")
        self.c.order_ok(side="sell", size="1")  # flat now
        self.set_ticker("BTC-USDT", "66000", "66000.5", "66000")
        [order] = self.c.history(f"?orderId={oid}")
        self.assertEqual(order["state"], "canceled")
        self.assertEqual(self.c.positions(), [])

    def test_adding_averages_and_flip(self):
        self.c.order_ok(size="0.5")
        self.set_ticker("BTC-USDT", "66000", "66000.5", "66000")
        self.c.order_ok(size="0.5")
        [pos] = self.c.positions()
        first_id = pos["positionId"]
        avg = (D("64000.5") * D("0.5") + D("66000.5") * D("0.5")) / 1
        self.assertEqual((pos["positions"], pos["averagePrice"]), ("1", dec(avg)))
        # Sell 1.8 at the bid: closes 1 (pnl) and opens -0.8 at the fill price.
        oid = self.c.order_ok(side="sell", size="1.8")
        pnl = (D(66000) - avg) * 1 * BTC_CV
        [order] = self.c.history(f"?orderId={oid}")
        self.assertEqual(order["pnl"], dec(pnl))
        [pos] = self.c.positions()
        self.assertEqual((pos["positions"], pos["averagePrice"]), ("-0.8", "66000"))
        self.assertNotEqual(pos["positionId"], first_id)
        fees = (D("64000.5") * D("0.5") + D("66000.5") * D("0.5") + D(66000) * D("1.8")) \
            * BTC_CV * D("0.0006")
        self.assertEqual(self.state()["balance"], dec(D(10000) + pnl - fees))
        # Buying back exactly the size closes it.
        self.c.order_ok(size="0.8")
        self.assertEqual(self.c.positions(), [])

    # ------------------------------------------------------------ margin

    def test_margin_rejection(self):
        self.add_account(KEY, SECRET, PHRASE, "100")  # replaces the account
        self.assert_order_fail(
            self.c.order(size="10", clientOrderId="big"), "103003",
            "Insufficient margin: requires 213.335 USDT, available 100 USDT", cid="big")
        # Resting orders hold margin at their limit price: 63000 x 4 x 0.001 / 3 = 84.
        self.c.order_ok(orderType="limit", price="63000", size="4")
        self.assert_order_fail(self.c.order(orderType="limit", price="63000", size="1"),
                               "103003", "Insufficient margin: requires 21 USDT, available 16 USDT")
        self.assertEqual(len(self.c.pending()), 1)

    def test_margin_counts_positions_and_flip_remainder(self):
        self.add_account(KEY, SECRET, PHRASE, "30")
        self.c.order_ok(size="1")  # margin 21.3335, fee 0.0384003
        available = D(30) - D("0.0384003") - D("21.3335")
        self.assertEqual(self.c.balance()["available"], dec(available))
        self.assert_order_fail(
            self.c.order(size="0.5"), "103003",
            f"Insufficient margin: requires {dec(D('64000.5') * D('0.5') * BTC_CV / 3)} USDT, "
            f"available {dec(available)} USDT")
        # Reducing needs no margin; a flip needs it for the part beyond the position.
        self.assert_order_fail(self.c.order(side="sell", size="2"), "103003",
                               f"Insufficient margin: requires {dec(D(64000) * BTC_CV / 3)}"
                               f" USDT, available {dec(available)} USDT")
        self.c.order_ok(side="sell", size="0.5")
        self.c.order_ok(side="sell", size="0.9")  # flips to -0.4
        self.assertEqual(self.c.positions()[0]["positions"], "-0.4")

    # ---------------------------------------------------------- leverage

    def test_leverage(self):
        self.assertEqual(self.c.ok("POST", "/api/v1/account/set-leverage",
                                   {"instId": "BTC-USDT", "leverage": "10", "marginMode": "cross"}),
                         {"instId": "BTC-USDT", "leverage": "10", "marginMode": "cross"})
        self.assertEqual(self.c.ok("GET", "/api/v1/account/batch-leverage-info"
                                   "?instId=BTC-USDT,ETH-USDT&marginMode=cross"),
                         [{"instId": "BTC-USDT", "leverage": "10", "marginMode": "cross"},
                          {"instId": "ETH-USDT", "leverage": "3", "marginMode": "cross"}])
        for lev in ("0", "151", "2.5", "x", None):
            _, _, reply = self.c.call("POST", "/api/v1/account/set-leverage",
                                      {"instId": "BTC-USDT", "leverage": lev, "marginMode": "cross"})
            self.assert_top_fail(reply, "152001", "Parameter leverage error")
        _, _, reply = self.c.call("POST", "/api/v1/account/set-leverage",
                                  {"instId": "SOL-USDT", "leverage": "76", "marginMode": "cross"})
        self.assert_top_fail(reply, "152001", "Parameter leverage error")
        self.assertEqual(self.c.ok("POST", "/api/v1/account/set-leverage",
                                   {"instId": "SOL-USDT", "leverage": "75",
                                    "marginMode": "cross"})["leverage"], "75")
        _, _, reply = self.c.call("POST", "/api/v1/account/set-leverage",
                                  {"instId": "BTC-USDT", "leverage": "5", "marginMode": "x"})
        self.assert_top_fail(reply, "152001", "Parameter marginMode error")
        _, _, reply = self.c.call("POST", "/api/v1/account/set-leverage",
                                  {"instId": "FOO-USDT", "leverage": "5", "marginMode": "cross"})
        self.assert_top_fail(reply, "152002", "Instrument FOO-USDT does not exist")
        _, _, reply = self.c.call("GET", "/api/v1/account/batch-leverage-info?instId=FOO-USDT")
        self.assert_top_fail(reply, "152002", "Instrument FOO-USDT does not exist")
        _, _, reply = self.c.call("GET", "/api/v1/account/batch-leverage-info")
        self.assert_top_fail(reply, "152001", "Parameter instId error")
        # Leverage sets the margin: 10 contracts at 10x need 64.0005.
        self.add_account("k2", "s2", "p2", "100")
        other = Client(self.server, "k2", "s2", "p2")
        self.assert_order_fail(other.order(size="10"), "103003")
        other.ok("POST", "/api/v1/account/set-leverage",
                 {"instId": "BTC-USDT", "leverage": "10", "marginMode": "cross"})
        oid = other.order_ok(size="10")
        self.assertEqual(other.history(f"?orderId={oid}")[0]["leverage"], "10")
        self.assertEqual(other.positions()[0]["leverage"], "10")
        self.assertEqual(other.balance()["frozen"], "64.0005")
        self.assertEqual(self.state("k2")["leverage"]["BTC-USDT"], "10")

    # ------------------------------------------------- control and misc

    def test_control_paths(self):
        self.c.order_ok(orderType="limit", price="60000")
        st = self.state()
        self.assertEqual(set(st), {"balance", "orders", "positions", "fills", "leverage"})
        self.assertEqual(st["orders"][0]["state"], "live")
        # Replacing an account starts it afresh.
        self.add_account(KEY, SECRET, PHRASE, "123.5")
        self.assertEqual(self.state()["orders"], [])
        self.assertEqual(self.state()["balance"], "123.5")
        self.assertEqual(self.server.control("GET", "accounts/state", query="?apiKey=zz")[0], 404)
        self.assertEqual(self.server.control("POST", "accounts", {"apiKey": "a"})[0], 400)
        self.assertEqual(self.server.control("POST", "limits", {"trade": "x"})[0], 400)
        self.assertEqual(self.server.control("GET", "nothing")[0], 404)
        # Reset clears accounts.
        self.server.control("POST", "reset")
        self.assertEqual(self.stats()["rate_limited"], 0)
        self.assert_auth_fail(self.c.call("GET", "/api/v1/account/balance"),
                              "152401", "Access key does not exist")

    def test_unknown_private_path_is_404_and_public_still_works(self):
        status, _, reply = self.c.call("GET", "/api/v1/trade/nothing")
        self.assertEqual((status, reply["code"]), (404, "404"))
        status, _, reply = self.server.request("GET", "/api/v1/market/tickers?instId=BTC-USDT")
        self.assertEqual((status, reply["data"][0]["instId"]), (200, "BTC-USDT"))

    def test_faults_apply_to_private_paths_and_requests_are_counted(self):
        self.server.control("POST", "faults", {"path": "/api/v1/account/balance",
                                               "kind": "http_429", "count": 1})
        status, headers, _ = self.c.call("GET", "/api/v1/account/balance")
        self.assertEqual((status, headers.get("Retry-After")), (429, "1"))
        self.assertEqual(self.c.call("GET", "/api/v1/account/balance")[0], 200)
        self.assertEqual(self.stats()["requests"]["GET /api/v1/account/balance"], 2)

    def test_market_order_without_ticker(self):
        self.server.control("POST", "tickers", {"ETH-USDT": {"last": "3000"}})
        self.assert_order_fail(self.c.order(), "102002", "No market price for BTC-USDT")
        self.c.order_ok(orderType="limit", price="60000")  # may rest without a price
        self.c.order_ok(instId="ETH-USDT", size="0.1")  # bid = ask = last when not given
        self.assertEqual(self.c.history()[0]["averagePrice"], "3000")

    def test_concurrent_orders_are_serialized(self):
        self.server.control("POST", "limits", {"trade": 1000})
        errors = []

        def worker(n):
            try:
                for i in range(10):
                    self.c.order_ok(size="0.1", clientOrderId=f"t{n}-{i}")
            except Exception as e:  # reported below
                errors.append(e)

        # 4 clients: the server's listen backlog is 5 (more connect retries after 1 s).
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        st = self.state()
        self.assertEqual(len({o["orderId"] for o in st["orders"]}), 40)
        self.assertEqual(len({f["tradeId"] for f in st["fills"]}), 40)
        self.assertEqual(st["positions"][0]["positions"], "4")
        self.assertEqual(st["balance"],
                         dec(D(10000) - D("64000.5") * 4 * BTC_CV * D("0.0006")))

    def test_every_endpoint_requires_auth(self):
        for method, path in [("POST", "/api/v1/trade/order"),
                             ("POST", "/api/v1/trade/cancel-order"),
                             ("GET", "/api/v1/trade/orders-pending"),
                             ("GET", "/api/v1/trade/orders-history"),
                             ("GET", "/api/v1/trade/fills-history"),
                             ("GET", "/api/v1/account/positions"),
                             ("GET", "/api/v1/account/balance"),
                             ("POST", "/api/v1/account/set-leverage"),
                             ("GET", "/api/v1/account/batch-leverage-info")]:
            status, _, reply = self.server.request(method, path, b"{}")
            self.assertEqual((status, reply["code"]), (401, "152401"), path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
