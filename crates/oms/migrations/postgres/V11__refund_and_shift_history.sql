-- Every version a refund or a shift was stored at, with the register and
-- the fingerprint of the token that wrote it: the audit trail, as for
-- orders. Append-only: the triggers refuse any change or deletion.
CREATE TABLE refund_history (
    refund_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    register TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (refund_id, version)
);
INSERT INTO refund_history (refund_id, version, received_at, register, token, body)
    SELECT id, version, received_at, register, 'stored before the history was kept', body FROM refunds;
CREATE TABLE shift_history (
    shift_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    register TEXT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (shift_id, version)
);
INSERT INTO shift_history (shift_id, version, received_at, register, token, body)
    SELECT id, version, received_at, register, 'stored before the history was kept', body FROM shifts;
CREATE FUNCTION record_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % is append-only', TG_ARGV[0];
END;
$$;
CREATE TRIGGER refund_history_no_change BEFORE UPDATE OR DELETE ON refund_history
    FOR EACH ROW EXECUTE FUNCTION record_history_append_only('refund history');
CREATE TRIGGER refund_history_no_truncate BEFORE TRUNCATE ON refund_history
    FOR EACH STATEMENT EXECUTE FUNCTION record_history_append_only('refund history');
CREATE TRIGGER shift_history_no_change BEFORE UPDATE OR DELETE ON shift_history
    FOR EACH ROW EXECUTE FUNCTION record_history_append_only('shift history');
CREATE TRIGGER shift_history_no_truncate BEFORE TRUNCATE ON shift_history
    FOR EACH STATEMENT EXECUTE FUNCTION record_history_append_only('shift history');
