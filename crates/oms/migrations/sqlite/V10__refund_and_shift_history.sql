-- Every version a refund or a shift was stored at, with the register and
-- the fingerprint of the token that wrote it: the audit trail, as for
-- orders. Append-only: the triggers refuse any change or deletion.
CREATE TABLE refund_history (
    refund_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    register TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (refund_id, version)
) WITHOUT ROWID;
INSERT INTO refund_history (refund_id, version, received_at, register, token, body)
    SELECT id, version, received_at, register, 'stored before the history was kept', body FROM refunds;
CREATE TRIGGER refund_history_no_update BEFORE UPDATE ON refund_history
    BEGIN SELECT RAISE(ABORT, 'the refund history is append-only'); END;
CREATE TRIGGER refund_history_no_delete BEFORE DELETE ON refund_history
    BEGIN SELECT RAISE(ABORT, 'the refund history is append-only'); END;
CREATE TABLE shift_history (
    shift_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    register TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (shift_id, version)
) WITHOUT ROWID;
INSERT INTO shift_history (shift_id, version, received_at, register, token, body)
    SELECT id, version, received_at, register, 'stored before the history was kept', body FROM shifts;
CREATE TRIGGER shift_history_no_update BEFORE UPDATE ON shift_history
    BEGIN SELECT RAISE(ABORT, 'the shift history is append-only'); END;
CREATE TRIGGER shift_history_no_delete BEFORE DELETE ON shift_history
    BEGIN SELECT RAISE(ABORT, 'the shift history is append-only'); END;
