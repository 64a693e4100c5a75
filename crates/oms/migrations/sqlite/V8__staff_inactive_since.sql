-- When a person was disabled, so the exceptions report judges each record
-- by the staff list as it stood at the record's time: a sale or approval
-- by someone disabled before it is an exception, one made before is not.
-- Those disabled before this column existed count as disabled since now.
ALTER TABLE staff ADD COLUMN inactive_since INTEGER;
UPDATE staff SET inactive_since = CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE active = 0;
