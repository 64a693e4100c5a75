-- The back office's PIN lock-outs (POST /api/v1/staff/verify): one row
-- per person (`staff:dana`) and per register (`register:R1`), holding
-- till_core::staff::PinLock as JSON.
CREATE TABLE pin_locks (
    subject TEXT COLLATE "C" PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
