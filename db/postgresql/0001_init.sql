-- xctl schema, step 1 (PostgreSQL). Decimals are NUMERIC(38,9) (see
-- docs/decimal.md); times are UTC milliseconds since the epoch; booleans are
-- 0/1 SMALLINT. Each statement ends with ";" at the end of a line.
CREATE TABLE strategies (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  pairs TEXT NOT NULL,
  params TEXT NOT NULL,
  starting_balance NUMERIC(38,9) NOT NULL,
  leverage NUMERIC(38,9) NOT NULL,
  taker_fee_rate NUMERIC(38,9),
  maker_fee_rate NUMERIC(38,9),
  desired_status TEXT NOT NULL CHECK (desired_status IN ('running', 'stopped')),
  credentials_ciphertext TEXT,
  signal_secret_hash TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);

CREATE TABLE orders (
  id BIGSERIAL PRIMARY KEY,
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  client_order_id TEXT NOT NULL,
  exchange_order_id TEXT NOT NULL DEFAULT '',
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  type TEXT NOT NULL CHECK (type IN ('market', 'limit')),
  price NUMERIC(38,9),
  quantity NUMERIC(38,9) NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'partially_filled', 'filled', 'canceled', 'rejected')),
  filled_quantity NUMERIC(38,9) NOT NULL,
  average_price NUMERIC(38,9) NOT NULL,
  fee NUMERIC(38,9) NOT NULL,
  reduce_only SMALLINT NOT NULL CHECK (reduce_only IN (0, 1)),
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  reject_reason TEXT NOT NULL DEFAULT '',
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  UNIQUE (strategy_id, client_order_id)
);
CREATE INDEX orders_by_strategy ON orders (strategy_id, id);
CREATE INDEX orders_resting_by_symbol ON orders (symbol, status) WHERE status IN ('open', 'partially_filled');

CREATE TABLE fills (
  id BIGSERIAL PRIMARY KEY,
  order_id BIGINT NOT NULL REFERENCES orders(id),
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
  price NUMERIC(38,9) NOT NULL,
  quantity NUMERIC(38,9) NOT NULL,
  fee NUMERIC(38,9) NOT NULL,
  maker SMALLINT NOT NULL CHECK (maker IN (0, 1)),
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  exchange_fill_id TEXT NOT NULL DEFAULT '',
  time BIGINT NOT NULL
);
CREATE INDEX fills_by_order ON fills (order_id);
CREATE INDEX fills_by_strategy ON fills (strategy_id, time);

CREATE TABLE positions (
  id BIGSERIAL PRIMARY KEY,
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  symbol TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('long', 'short')),
  open_time BIGINT NOT NULL,
  close_time BIGINT,
  open_price NUMERIC(38,9) NOT NULL,
  close_price NUMERIC(38,9),
  quantity NUMERIC(38,9) NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  pnl NUMERIC(38,9),
  fees NUMERIC(38,9) NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  exchange TEXT NOT NULL CHECK (exchange IN ('paper', 'blofin'))
);
CREATE INDEX positions_by_strategy ON positions (strategy_id, status, id);
CREATE INDEX positions_by_symbol ON positions (symbol, status);
CREATE UNIQUE INDEX positions_one_open ON positions (strategy_id, symbol) WHERE status = 'open';

CREATE TABLE accounts (
  strategy_id TEXT PRIMARY KEY REFERENCES strategies(id),
  starting_balance NUMERIC(38,9) NOT NULL,
  balance NUMERIC(38,9) NOT NULL,
  margin_used NUMERIC(38,9) NOT NULL,
  leverage NUMERIC(38,9) NOT NULL,
  update_time BIGINT NOT NULL
);
