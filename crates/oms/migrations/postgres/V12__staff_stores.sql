-- The stores a person works in (store ids, comma-separated); NULL: every
-- store. A register gets only the staff of its own store, so one chain's
-- register never holds the PIN hashes of every manager in the chain.
ALTER TABLE staff ADD COLUMN stores TEXT;
