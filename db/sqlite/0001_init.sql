-- xctl schema, step 1 (SQLite). Decimals are TEXT in plain notation (see
-- docs/decimal.md); times are UTC milliseconds since the epoch; booleans are
-- 0/1. Each statement ends with ";" at the end of a line.
CREATE TABLE strategies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  pairs TEXT NOT NULL,
  params TEXT NOT NULL,
  starting_balance TEXT NOT NULL,
  leverage TEXT NOT NULL,
  taker_fee_rate TEXT,
  maker_fee_rate TEXT,
  desired_status TEXT NOT NULL CHECK (desired_status IN ('running', 'stopped')),
  credentials_ciphertext TEXT,
  signal_secret_hash TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);

CREATE TABLE orders (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  client_order_id TEXT NOT NULL,
  exchange_order_id TEXT NOT NULL DEFAULT '',
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  type TEXT NOT NULL CHECK (type IN ('market', 'limit')),
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
  UNIQUE (strategy_id, client_order_id)
);
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
CREATE INDEX fills_by_order ON fills (order_id);
CREATE INDEX fills_by_strategy ON fills (strategy_id, time);

CREATE TABLE positions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('long', 'short')),
  open_time INTEGER NOT NULL,
  close_time INTEGER,
  open_price TEXT NOT NULL,
  close_price TEXT,
  quantity TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  pnl TEXT,
  fees TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  exchange TEXT NOT NULL CHECK (exchange IN ('paper', 'blofin'))
);
CREATE INDEX positions_by_strategy ON positions (strategy_id, status, id);
CREATE INDEX positions_by_symbol ON positions (symbol, status);
CREATE UNIQUE INDEX positions_one_open ON positions (strategy_id, symbol) WHERE status = 'open';

CREATE TABLE accounts (
  strategy_id TEXT PRIMARY KEY REFERENCES strategies(id),
  starting_balance TEXT NOT NULL,
  balance TEXT NOT NULL,
  margin_used TEXT NOT NULL,
  leverage TEXT NOT NULL,
  update_time INTEGER NOT NULL
);
