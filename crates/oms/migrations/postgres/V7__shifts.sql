-- Shifts: a register's drawer from its float to its count, with the Z
-- report made at the close. Stored by the rule of orders (the highest
-- version of the register that made it). Read by id, and by register in
-- the order they opened.
CREATE TABLE shifts (
    id TEXT COLLATE "C" PRIMARY KEY,
    register TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    received_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX shifts_by_register ON shifts (register, opened_at);
