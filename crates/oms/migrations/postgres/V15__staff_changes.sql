-- Every enable and disable of a person, kept for good: the exceptions
-- report judges a record by the staff list as it stood at the record's
-- time, and `staff.inactive_since` held only the latest time someone was
-- disabled (enabled again, a week disabled was forgotten). Append-only,
-- like the records' history.
CREATE TABLE staff_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id TEXT COLLATE "C" NOT NULL REFERENCES staff (id),
    at BIGINT NOT NULL,
    active BOOLEAN NOT NULL
);
CREATE INDEX staff_changes_by_staff ON staff_changes (staff_id, at);
-- Those disabled now, since when the column says.
INSERT INTO staff_changes (staff_id, at, active)
    SELECT id, COALESCE(inactive_since, 0), FALSE FROM staff WHERE NOT active;
CREATE TRIGGER staff_changes_no_change BEFORE UPDATE OR DELETE ON staff_changes
    FOR EACH ROW EXECUTE FUNCTION record_history_append_only('staff changes');
CREATE TRIGGER staff_changes_no_truncate BEFORE TRUNCATE ON staff_changes
    FOR EACH STATEMENT EXECUTE FUNCTION record_history_append_only('staff changes');
