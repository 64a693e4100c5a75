-- Every version an order was stored at, with who wrote it: the audit
-- trail. Append-only: the triggers refuse any change or deletion.
CREATE TABLE order_history (
    order_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    register TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (order_id, version)
) WITHOUT ROWID;
INSERT INTO order_history (order_id, version, received_at, register, token, body)
    SELECT id, version, received_at, register, 'stored before the history was kept', body FROM orders;
CREATE TRIGGER order_history_no_update BEFORE UPDATE ON order_history
    BEGIN SELECT RAISE(ABORT, 'the order history is append-only'); END;
CREATE TRIGGER order_history_no_delete BEFORE DELETE ON order_history
    BEGIN SELECT RAISE(ABORT, 'the order history is append-only'); END;
