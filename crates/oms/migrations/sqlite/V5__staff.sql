-- The store's staff: who may sign in on a register, their role and their
-- PIN's hash (argon2id). A person who leaves is disabled, never deleted:
-- their name stays on the records they made.
CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
