-- xctl schema, step 3 (SQLite): order types post_only, ioc and fok, and the
-- take-profit / stop-loss of an order and of the position it opened
-- (docs/exchanges.md, "Order types and TP/SL"). Trigger prices and order
-- prices are TEXT decimals; NULL means absent (an order price NULL with its
-- trigger set: the close is a market order).
--
-- SQLite cannot change a CHECK constraint, so `orders` is rebuilt with every
-- row, id, index and its UNIQUE constraint. `fills` references `orders`: with
-- foreign keys on (they are, and this runs inside a transaction where the
-- pragma cannot change), dropping `orders` under it would fail, so `fills`
-- is set aside in a plain copy and rebuilt after, with the same ids.
CREATE TABLE fills_keep AS SELECT id, order_id, strategy_id, symbol, side, price, quantity, fee, maker, mode, exchange_fill_id, time FROM fills;
DROP TABLE fills;
CREATE TABLE orders_new (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  client_order_id TEXT NOT NULL,
  exchange_order_id TEXT NOT NULL DEFAULT '',
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  type TEXT NOT NULL CHECK (type IN ('market', 'limit', 'post_only', 'ioc', 'fok')),
  price TEXT,
  quantity TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'partially_filled', 'filled', 'canceled', 'rejected')),
  filled_quantity TEXT NOT NULL,
  average_price TEXT NOT NULL,
  fee TEXT NOT NULL,
  reduce_only INTEGER NOT NULL CHECK (reduce_only IN (0, 1)),
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  reject_reason TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  tp_trigger_price TEXT,
  tp_order_price TEXT,
  sl_trigger_price TEXT,
  sl_order_price TEXT,
  UNIQUE (strategy_id, client_order_id)
);
INSERT INTO orders_new (id, strategy_id, client_order_id, exchange_order_id, symbol, side, type, price, quantity, status, filled_quantity, average_price, fee, reduce_only, mode, reject_reason, create_time, update_time) SELECT id, strategy_id, client_order_id, exchange_order_id, symbol, side, type, price, quantity, status, filled_quantity, average_price, fee, reduce_only, mode, reject_reason, create_time, update_time FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_by_strategy ON orders (strategy_id, id);
CREATE INDEX orders_resting_by_symbol ON orders (symbol, status) WHERE status IN ('open', 'partially_filled');
CREATE TABLE fills (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id INTEGER NOT NULL REFERENCES orders(id),
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  price TEXT NOT NULL,
  quantity TEXT NOT NULL,
  fee TEXT NOT NULL,
  maker INTEGER NOT NULL CHECK (maker IN (0, 1)),
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  exchange_fill_id TEXT NOT NULL DEFAULT '',
  time INTEGER NOT NULL
);
INSERT INTO fills (id, order_id, strategy_id, symbol, side, price, quantity, fee, maker, mode, exchange_fill_id, time) SELECT id, order_id, strategy_id, symbol, side, price, quantity, fee, maker, mode, exchange_fill_id, time FROM fills_keep;
DROP TABLE fills_keep;
CREATE INDEX fills_by_order ON fills (order_id);
CREATE INDEX fills_by_strategy ON fills (strategy_id, time);

ALTER TABLE positions ADD COLUMN tp_trigger_price TEXT;
ALTER TABLE positions ADD COLUMN tp_order_price TEXT;
ALTER TABLE positions ADD COLUMN sl_trigger_price TEXT;
ALTER TABLE positions ADD COLUMN sl_order_price TEXT;
