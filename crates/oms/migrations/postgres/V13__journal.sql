-- The registers' journals (till_core::journal): each register's public
-- key, its verified chain of signed entries, and the entries refused
-- (kept for inspection). All three are append-only: a key cannot be
-- swapped, an entry cannot be edited or removed.
CREATE TABLE register_keys (
    register TEXT COLLATE "C" PRIMARY KEY,
    public_key TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    token TEXT NOT NULL
);
CREATE TABLE journal (
    register TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    time BIGINT NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (register, seq)
);
CREATE INDEX journal_by_time ON journal (time);
CREATE TABLE journal_refused (
    register TEXT COLLATE "C" NOT NULL,
    -- The seq the chain expected where it broke, and the entry's own.
    at_seq BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (register, seq, hash)
);
CREATE INDEX journal_refused_by_time ON journal_refused (received_at);
CREATE TRIGGER register_keys_no_change BEFORE UPDATE OR DELETE ON register_keys
    FOR EACH ROW EXECUTE FUNCTION record_history_append_only('register''s journal key');
CREATE TRIGGER register_keys_no_truncate BEFORE TRUNCATE ON register_keys
    FOR EACH STATEMENT EXECUTE FUNCTION record_history_append_only('register''s journal key');
CREATE TRIGGER journal_no_change BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION record_history_append_only('journal');
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION record_history_append_only('journal');
CREATE TRIGGER journal_refused_no_change BEFORE UPDATE OR DELETE ON journal_refused
    FOR EACH ROW EXECUTE FUNCTION record_history_append_only('refused journal entries');
CREATE TRIGGER journal_refused_no_truncate BEFORE TRUNCATE ON journal_refused
    FOR EACH STATEMENT EXECUTE FUNCTION record_history_append_only('refused journal entries');
