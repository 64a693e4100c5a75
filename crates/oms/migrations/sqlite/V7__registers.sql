-- Registers that enrolled with a one-time secret, each with a token of its
-- own (kept as its SHA-256: the OMS never stores a register's token), and
-- registers the back office removed. A register configured by token
-- (`--register-token`) has a row only once it is revoked. An id is never
-- given again: its order numbers stay its own.
CREATE TABLE registers (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT UNIQUE,
    fingerprint TEXT,
    enrolled_at INTEGER,
    revoked_at INTEGER
) WITHOUT ROWID;
-- One-time enrolment secrets (kept as their SHA-256), each good once for
-- 10 minutes, with the register id the store chose (NULL: the next free).
CREATE TABLE enrolments (
    secret_sha256 TEXT PRIMARY KEY,
    register TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    used_by TEXT
) WITHOUT ROWID;
