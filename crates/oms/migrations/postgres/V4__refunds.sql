-- Refunds: a record of their own, linked to the order they give money back
-- for, stored by the same rule as orders (the highest version of the
-- register that made it). Read by order (an order's refunds) and by day.
CREATE TABLE refunds (
    id TEXT COLLATE "C" PRIMARY KEY,
    order_id TEXT COLLATE "C" NOT NULL,
    register TEXT COLLATE "C" NOT NULL,
    business_date TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (order_id);
CREATE INDEX refunds_by_register_day ON refunds (register, business_date, created_at);
