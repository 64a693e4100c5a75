-- The store's staff: who may sign in on a register, their role and their
-- PIN's hash (argon2id). A person who leaves is disabled, never deleted:
-- their name stays on the records they made.
CREATE TABLE staff (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);
