-- Registers that enrolled with a one-time secret, each with a token of its
-- own (kept as its SHA-256: the OMS never stores a register's token), and
-- registers the back office removed. A register configured by token
-- (`--register-token`) has a row only once it is revoked. An id is never
-- given again: its order numbers stay its own.
CREATE TABLE registers (
    id TEXT COLLATE "C" PRIMARY KEY,
    token_sha256 TEXT UNIQUE,
    fingerprint TEXT,
    enrolled_at BIGINT,
    revoked_at BIGINT
);
-- One-time enrolment secrets (kept as their SHA-256), each good once for
-- 10 minutes, with the register id the store chose (NULL: the next free).
CREATE TABLE enrolments (
    secret_sha256 TEXT PRIMARY KEY,
    register TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT
);
