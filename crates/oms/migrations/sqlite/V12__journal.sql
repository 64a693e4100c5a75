-- The registers' journals (till_core::journal): each register's public
-- key, its verified chain of signed entries, and the entries refused
-- (kept for inspection). All three are append-only: a key cannot be
-- swapped, an entry cannot be edited or removed.
CREATE TABLE register_keys (
    register TEXT PRIMARY KEY NOT NULL,
    public_key TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    token TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE journal (
    register TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (register, seq)
) WITHOUT ROWID;
CREATE INDEX journal_by_time ON journal (time);
CREATE TABLE journal_refused (
    register TEXT NOT NULL,
    -- The seq the chain expected where it broke, and the entry's own.
    at_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    token TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (register, seq, hash)
) WITHOUT ROWID;
CREATE INDEX journal_refused_by_time ON journal_refused (received_at);
CREATE TRIGGER register_keys_no_update BEFORE UPDATE ON register_keys
    BEGIN SELECT RAISE(ABORT, 'a register''s journal key is never replaced'); END;
CREATE TRIGGER register_keys_no_delete BEFORE DELETE ON register_keys
    BEGIN SELECT RAISE(ABORT, 'a register''s journal key is never replaced'); END;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
CREATE TRIGGER journal_refused_no_update BEFORE UPDATE ON journal_refused
    BEGIN SELECT RAISE(ABORT, 'the refused journal entries are append-only'); END;
CREATE TRIGGER journal_refused_no_delete BEFORE DELETE ON journal_refused
    BEGIN SELECT RAISE(ABORT, 'the refused journal entries are append-only'); END;
