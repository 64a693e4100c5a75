-- Refunds: a record of their own, linked to the order they give money back
-- for, stored by the same rule as orders (the highest version of the
-- register that made it). Read by order (an order's refunds) and by day.
CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    register TEXT NOT NULL,
    business_date TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_by_register_day ON refunds (register, business_date, created_at);
