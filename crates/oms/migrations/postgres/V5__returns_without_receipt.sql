-- A return without a receipt is a refund of no order: its order_id is NULL.
ALTER TABLE refunds ALTER COLUMN order_id DROP NOT NULL;
