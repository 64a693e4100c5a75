-- A return without a receipt is a refund of no order: its order_id is NULL.
-- SQLite cannot drop NOT NULL from a column, so the table is rebuilt (in
-- the migration's transaction), its rows and indexes as they were.
CREATE TABLE refunds_v4 (
    id TEXT PRIMARY KEY,
    order_id TEXT,
    register TEXT NOT NULL,
    business_date TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO refunds_v4 SELECT id, order_id, register, business_date, version, created_at, received_at, body FROM refunds;
DROP TABLE refunds;
ALTER TABLE refunds_v4 RENAME TO refunds;
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_by_register_day ON refunds (register, business_date, created_at);
