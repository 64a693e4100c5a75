-- The catalog, orders and payments, each as its JSON body with the columns
-- the queries need beside it.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE categories (position INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE tax_rates (position INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE products (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    register TEXT NOT NULL,
    business_date TEXT NOT NULL,
    number TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX orders_by_register_day ON orders (register, business_date, created_at);
CREATE TABLE payments (
    reference TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX payments_by_order ON payments (order_id);
