-- An order's body is about 2 KB of JSON: just over the size at which
-- PostgreSQL compresses a row (pglz), which cost more CPU than any other
-- part of an ingest. Rows up to a page's size now stay inline, as written.
ALTER TABLE orders SET (toast_tuple_target = 8160);
ALTER TABLE order_history SET (toast_tuple_target = 8160);
