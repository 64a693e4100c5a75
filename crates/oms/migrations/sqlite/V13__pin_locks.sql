-- The back office's PIN lock-outs (POST /api/v1/staff/verify): one row
-- per person (`staff:dana`) and per register (`register:R1`), holding
-- till_core::staff::PinLock as JSON.
CREATE TABLE pin_locks (
    subject TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
