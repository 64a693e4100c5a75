-- Shifts: a register's drawer from its float to its count, with the Z
-- report made at the close. Stored by the rule of orders (the highest
-- version of the register that made it). Read by id, and by register in
-- the order they opened.
CREATE TABLE shifts (
    id TEXT PRIMARY KEY,
    register TEXT NOT NULL,
    version INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX shifts_by_register ON shifts (register, opened_at);
