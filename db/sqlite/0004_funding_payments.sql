-- xctl schema, step 4 (SQLite): funding payments (docs/store.md, docs/exchanges.md
-- "Funding"). One row per strategy, symbol and settlement: the unique key is
-- what makes a retried or restarted settlement count once. amount is signed
-- (negative = paid). source is "computed" (rate x position): BloFin lists no
-- account funding payments.
CREATE TABLE funding_payments (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  strategy_id TEXT NOT NULL REFERENCES strategies(id),
  symbol TEXT NOT NULL,
  position_id BIGINT NOT NULL,
  settlement_time BIGINT NOT NULL,
  rate TEXT NOT NULL,
  price TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('long', 'short')),
  quantity TEXT NOT NULL,
  amount TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('paper', 'live')),
  source TEXT NOT NULL CHECK (source IN ('computed')),
  record_time BIGINT NOT NULL,
  UNIQUE (strategy_id, symbol, settlement_time)
);
CREATE INDEX funding_payments_by_strategy ON funding_payments (strategy_id, settlement_time);
