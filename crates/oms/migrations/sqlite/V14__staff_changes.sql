-- Every enable and disable of a person, kept for good: the exceptions
-- report judges a record by the staff list as it stood at the record's
-- time, and `staff.inactive_since` held only the latest time someone was
-- disabled (enabled again, a week disabled was forgotten). Append-only,
-- like the records' history.
CREATE TABLE staff_changes (
    staff_id TEXT NOT NULL REFERENCES staff (id),
    at INTEGER NOT NULL,
    active INTEGER NOT NULL
);
CREATE INDEX staff_changes_by_staff ON staff_changes (staff_id, at);
-- Those disabled now, since when the column says.
INSERT INTO staff_changes (staff_id, at, active)
    SELECT id, COALESCE(inactive_since, 0), 0 FROM staff WHERE active = 0;
CREATE TRIGGER staff_changes_no_update BEFORE UPDATE ON staff_changes
    BEGIN SELECT RAISE(ABORT, 'staff changes are append-only'); END;
CREATE TRIGGER staff_changes_no_delete BEFORE DELETE ON staff_changes
    BEGIN SELECT RAISE(ABORT, 'staff changes are append-only'); END;
