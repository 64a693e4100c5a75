-- Every version an order was stored at, with who wrote it: the audit
-- trail. Append-only: the trigger refuses any change or deletion.
CREATE TABLE order_history (
    order_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    register TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, version)
);
INSERT INTO order_history (order_id, version, received_at, register, token, body)
    SELECT id, version, received_at, register, 'stored before the history was kept', body FROM orders;
CREATE FUNCTION order_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the order history is append-only';
END;
$$;
CREATE TRIGGER order_history_no_change BEFORE UPDATE OR DELETE ON order_history
    FOR EACH ROW EXECUTE FUNCTION order_history_append_only();
CREATE TRIGGER order_history_no_truncate BEFORE TRUNCATE ON order_history
    FOR EACH STATEMENT EXECUTE FUNCTION order_history_append_only();
