-- The catalog, orders and payments, each as its JSON body (TEXT: the
-- idempotency rule compares bodies byte for byte) with the columns the
-- queries need beside it. Keys sort by byte (COLLATE "C"), as on SQLite,
-- so catalog cursors and listings are in the same order on both engines.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE categories (position INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE tax_rates (position INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE products (id TEXT COLLATE "C" PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE orders (
    id TEXT COLLATE "C" PRIMARY KEY,
    register TEXT COLLATE "C" NOT NULL,
    business_date TEXT COLLATE "C" NOT NULL,
    number TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX orders_by_register_day ON orders (register, business_date, created_at);
CREATE TABLE payments (
    reference TEXT COLLATE "C" PRIMARY KEY,
    order_id TEXT COLLATE "C" NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX payments_by_order ON payments (order_id);
