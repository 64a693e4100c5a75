-- The shift each order and refund names, as a column: a shift's records
-- are those that name it, whatever dates its register's clock gave them,
-- and the exceptions report recomputes a closed shift's Z from them.
ALTER TABLE orders ADD COLUMN shift TEXT COLLATE "C";
UPDATE orders SET shift = body::jsonb ->> 'shift';
CREATE INDEX orders_by_shift ON orders (shift) WHERE shift IS NOT NULL;
ALTER TABLE refunds ADD COLUMN shift TEXT COLLATE "C";
UPDATE refunds SET shift = body::jsonb ->> 'shift';
CREATE INDEX refunds_by_shift ON refunds (shift) WHERE shift IS NOT NULL;
