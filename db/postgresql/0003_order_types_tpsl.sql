-- xctl schema, step 3 (PostgreSQL): order types post_only, ioc and fok, and the
-- take-profit / stop-loss of an order and of the position it opened
-- (docs/exchanges.md, "Order types and TP/SL"). NULL means absent (an order
-- price NULL with its trigger set: the close is a market order).
ALTER TABLE orders DROP CONSTRAINT orders_type_check;
ALTER TABLE orders ADD CONSTRAINT orders_type_check CHECK (type IN ('market', 'limit', 'post_only', 'ioc', 'fok'));
ALTER TABLE orders ADD COLUMN tp_trigger_price NUMERIC(38,9);
ALTER TABLE orders ADD COLUMN tp_order_price NUMERIC(38,9);
ALTER TABLE orders ADD COLUMN sl_trigger_price NUMERIC(38,9);
ALTER TABLE orders ADD COLUMN sl_order_price NUMERIC(38,9);
ALTER TABLE positions ADD COLUMN tp_trigger_price NUMERIC(38,9);
ALTER TABLE positions ADD COLUMN tp_order_price NUMERIC(38,9);
ALTER TABLE positions ADD COLUMN sl_trigger_price NUMERIC(38,9);
ALTER TABLE positions ADD COLUMN sl_order_price NUMERIC(38,9);
