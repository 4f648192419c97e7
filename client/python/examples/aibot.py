#!/usr/bin/env python3
"""aibot: an external, price-driven strategy that trades on xctld through the Python client.

A stand-in for an "AI bot": it streams prices from xctld, asks a model what
position to hold, and trades towards it with PAPER market orders under its own
strategy id. The model is one function, ``decide()``: replace its body with a
call to a real model (a scikit-learn pipeline, an ONNX session, an HTTP call to
an inference server, ...) and keep its contract; nothing else changes. The
stand-in is a momentum rule over the last ``--window`` prices: up more than
``--threshold`` -> long, down more than it -> short, otherwise keep the
position.

What it does, in order:

1. ensures its strategy exists: creates ``--strategy`` (default ``aibot-py``)
   of type ``external`` on ``--pairs``, started; an existing one
   (ALREADY_EXISTS) is reused, and started when it is stopped. It refuses to
   run a strategy that trades live (has BloFin credentials): it trades paper
   only;
2. reads its open positions, then streams prices (snapshot, then updates);
3. per tick with a full window, prints one line with the decision; when the
   target differs from the position, places one market order for the
   difference (from short to long in one order). Each order carries a
   client order id chosen before the first attempt and reused on retries
   (UNAVAILABLE, DEADLINE_EXCEEDED), so a retry never trades twice: xctld
   returns the first result with ``replayed`` set;
4. exits 0 after ``--max-orders`` orders (0: run until Ctrl-C), 1 when a
   call fails, 2 when xctld is unreachable.

Run it against ``scripts/run`` (xctld on 127.0.0.1:50051)::

    .venv/bin/python client/python/examples/aibot.py --pairs BTC-USDT,ETH-USDT --window 20

Against a server with tokens and TLS (docs/security.md), give the token in
``$XCTL_TOKEN`` (never on the command line) and the CA with ``--ca`` or
``$XCTL_CA``. A token scoped to the strategy (``strategy:aibot-py``) cannot
create strategies: an admin creates and starts it once, and aibot uses it::

    XCTL_TOKEN=... .venv/bin/python client/python/examples/aibot.py \
        --server xctl.example:50051 --ca /etc/xctl/ca.crt
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from xctl_client import Client, OrderResult, Side, Tick, TradingMode, XctlError

STRATEGY_TYPE = "external"
RETRIABLE = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})
ORDER_ATTEMPTS = 4


def decide(window: Sequence[Decimal], threshold: Decimal) -> int:
    """THE MODEL: the position to hold given the last prices, oldest first.

    Returns +1 to be long, -1 to be short, 0 for "no view" (keep the current
    position). A real model plugs in here: keep the signature, compute a view
    from ``window`` (and anything else you load at start), return -1, 0 or +1.

    Stand-in: momentum over the window, (last - first) / first, against
    ``threshold`` (a fraction: 0.001 = 0.1%).
    """
    first, last = window[0], window[-1]
    if first <= 0:
        return 0
    momentum = (last - first) / first
    if momentum > threshold:
        return 1
    if momentum < -threshold:
        return -1
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see --help)."""

    def decimal_arg(text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"not a decimal number: {text!r}") from None
        if not value.is_finite() or value < 0:
            raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
        return value

    p = argparse.ArgumentParser(
        description="External price-driven strategy for xctld: momentum stand-in for an AI model, "
        "paper market orders under its own strategy id.",
    )
    p.add_argument(
        "--server",
        default=os.environ.get("XCTL_SERVER", "127.0.0.1:50051"),
        help="xctld address HOST:PORT (default: $XCTL_SERVER, else 127.0.0.1:50051)",
    )
    p.add_argument(
        "--ca",
        default=None,
        help="TLS: PEM file of the CA (or self-signed certificate) to trust (default: $XCTL_CA; "
        "neither: plaintext). The token, if xctld wants one, comes from $XCTL_TOKEN",
    )
    p.add_argument("--strategy", default="aibot-py", help="strategy id to trade under (default aibot-py)")
    p.add_argument("--pairs", default="BTC-USDT", help="comma-separated pairs (default BTC-USDT)")
    p.add_argument(
        "--quantity",
        type=decimal_arg,
        default=Decimal("0.1"),
        help="contracts per position; a multiple of the lot size (default 0.1)",
    )
    p.add_argument("--window", type=int, default=20, help="prices the model looks at, >= 2 (default 20)")
    p.add_argument(
        "--threshold",
        type=decimal_arg,
        default=Decimal("0"),
        help="momentum, as a fraction, needed to take a side (default 0)",
    )
    p.add_argument("--max-orders", type=int, default=0, help="exit after this many orders (default 0: never)")
    p.add_argument("--connect-timeout", type=float, default=5.0, help="seconds to wait for xctld (default 5)")
    args = p.parse_args(argv)
    args.pairs = [s.strip() for s in args.pairs.split(",") if s.strip()]
    if not args.pairs:
        p.error("--pairs: give at least one pair")
    if args.window < 2:
        p.error("--window must be at least 2")
    if args.quantity <= 0:
        p.error("--quantity must be greater than 0")
    if args.max_orders < 0:
        p.error("--max-orders must be >= 0")
    return args


def log(text: str) -> None:
    """Prints one line, timestamped (UTC), flushed at once."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{now} {text}", flush=True)


def ensure_strategy(client: Client, strategy_id: str, pairs: Sequence[str], window: int) -> None:
    """Creates the external strategy, or checks and (re)starts the existing one."""
    refused: XctlError | None = None
    try:
        created = client.create_strategy(
            strategy_id,
            STRATEGY_TYPE,
            pairs,
            params={"model": "momentum", "window": str(window)},
            start=True,
        )
        pairs_text = ",".join(created.pairs)
        log(f"created strategy {created.id} ({created.type}, {created.mode}, {created.status}) on {pairs_text}")
        return
    except XctlError as e:
        # PERMISSION_DENIED: a token scoped to this strategy may use it but
        # not create it; an admin has made it (or must).
        if e.code not in ("ALREADY_EXISTS", "PERMISSION_DENIED"):
            raise
        if e.code == "PERMISSION_DENIED":
            refused = e
    try:
        existing = client.strategy(strategy_id)
    except XctlError as e:
        if refused is not None and e.code == "NOT_FOUND":
            raise SystemExit(
                f"aibot: strategy {strategy_id} does not exist and this token may not create it "
                f"({refused.message}); have an admin create it (type {STRATEGY_TYPE})"
            ) from None
        raise
    if existing.type != STRATEGY_TYPE:
        raise SystemExit(
            f"aibot: strategy {strategy_id} is of type {existing.type}, not {STRATEGY_TYPE}; choose another --strategy"
        )
    if existing.mode is TradingMode.LIVE:
        raise SystemExit(f"aibot: strategy {strategy_id} trades live (it has credentials); aibot trades paper only")
    missing = [p for p in pairs if p not in existing.pairs]
    if missing:
        raise SystemExit(
            f"aibot: strategy {strategy_id} trades {','.join(existing.pairs)}, not {','.join(missing)}; "
            "choose other --pairs or another --strategy"
        )
    if not existing.running:
        existing = client.start_strategy(strategy_id)
    log(f"using existing strategy {existing.id} ({existing.type}, {existing.mode}, {existing.status})")


def open_position(client: Client, strategy_id: str, pair: str) -> Decimal:
    """The strategy's net position in ``pair``, in signed contracts (long positive)."""
    return sum(
        (p.signed_quantity for p in client.positions(strategy_id=strategy_id, symbol=pair, status="open")),
        Decimal(0),
    )


def place_with_retry(
    client: Client, strategy_id: str, pair: str, side: Side, quantity: Decimal, client_order_id: str
) -> OrderResult:
    """Places a market order, retrying transient failures with the same client order id.

    xctld answers a repeated ``client_order_id`` with the stored result of the
    first attempt (``replayed``), so however many attempts reach it, the order
    trades once.
    """
    delay = 0.5
    for attempt in range(1, ORDER_ATTEMPTS + 1):
        try:
            return client.place_order(strategy_id, pair, side, quantity, client_order_id=client_order_id)
        except XctlError as e:
            if e.code not in RETRIABLE or attempt == ORDER_ATTEMPTS:
                raise
            log(f"{pair} order {client_order_id}: {e}; retrying in {delay:g} s with the same client order id")
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class Bot:
    """Per-pair price windows, positions, and the trading loop."""

    def __init__(self, client: Client, args: argparse.Namespace) -> None:
        """Prepares the state; ``run()`` trades."""
        self.client = client
        self.args = args
        self.windows: dict[str, deque[Decimal]] = {p: deque(maxlen=args.window) for p in args.pairs}
        self.positions: dict[str, Decimal] = {}
        self.orders = 0
        # Client order ids: <run tag>x<n>, letters and digits only, at most 32
        # characters; the random run tag keeps ids of two runs apart.
        self.run_tag = "ai" + secrets.token_hex(5)
        self.sequence = 0

    def run(self) -> int:
        """Streams prices and trades until --max-orders orders; returns the exit code."""
        for pair in self.args.pairs:
            self.positions[pair] = open_position(self.client, self.args.strategy, pair)
        log(
            f"trading {','.join(self.args.pairs)} as {self.args.strategy}: window {self.args.window}, "
            f"threshold {self.args.threshold}, quantity {self.args.quantity}, positions "
            + ", ".join(f"{p}={q}" for p, q in self.positions.items())
        )
        stream = self.client.stream_prices(self.args.pairs, on_status=lambda s: log(f"stream {s.code}: {s.message}"))
        try:
            for ticks in stream:
                for tick in ticks:
                    if tick.pair in self.windows and self.on_tick(tick):
                        return 0
        finally:
            stream.close()
        log("the price stream ended")
        return 1

    def on_tick(self, tick: Tick) -> bool:
        """Feeds one tick to the model, trades if needed; True once --max-orders is reached."""
        price = tick.last if tick.last is not None else tick.mid
        if tick.stale or price is None:
            return False
        window = self.windows[tick.pair]
        window.append(price)
        if len(window) < self.args.window:
            return False
        view = decide(list(window), self.args.threshold)
        position = self.positions[tick.pair]
        target = position if view == 0 else view * self.args.quantity
        momentum = (window[-1] - window[0]) / window[0] * 100
        head = (
            f"{tick.pair} last={price} momentum={momentum:+.4f}% "
            f"view={('short', 'none', 'long')[view + 1]} position={position}"
        )
        if target == position:
            log(f"{head} -> hold")
            return False
        side = Side.BUY if target > position else Side.SELL
        quantity = abs(target - position)
        self.sequence += 1
        client_order_id = f"{self.run_tag}x{self.sequence}"
        try:
            result = place_with_retry(self.client, self.args.strategy, tick.pair, side, quantity, client_order_id)
        except XctlError as e:
            if e.code in RETRIABLE:
                raise
            log(f"{head} -> {side} {quantity}: refused: {e}")
            return False
        order = result.order
        self.orders += 1
        self.positions[tick.pair] = open_position(self.client, self.args.strategy, tick.pair)
        replayed = " (replayed)" if result.replayed else ""
        log(
            f"{head} -> {side} {quantity}: order {order.id} {order.status} {order.filled_quantity} at "
            f"{order.average_price} coid={client_order_id}{replayed}; position now {self.positions[tick.pair]}"
        )
        if self.args.max_orders and self.orders >= self.args.max_orders:
            log(f"placed {self.orders} orders; done")
            return True
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the bot; returns the process exit code."""
    args = parse_args(argv)
    try:
        client = Client(args.server, timeout=10.0, ca_file=args.ca)
    except OSError as e:
        print(f"aibot: {e}", file=sys.stderr)
        return 2
    with client:
        try:
            client.wait_ready(timeout=args.connect_timeout)
        except XctlError as e:
            print(f"aibot: {e.message}; is xctld running? (--server)", file=sys.stderr)
            return 2
        try:
            ensure_strategy(client, args.strategy, args.pairs, args.window)
            return Bot(client, args).run()
        except XctlError as e:
            if e.code == "UNAVAILABLE":
                print(f"aibot: lost xctld at {args.server}: {e}", file=sys.stderr)
            else:
                print(f"aibot: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            log("interrupted")
            return 130


if __name__ == "__main__":
    sys.exit(main())
