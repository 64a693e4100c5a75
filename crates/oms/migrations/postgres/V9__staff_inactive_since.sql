-- When a person was disabled, so the exceptions report judges each record
-- by the staff list as it stood at the record's time: a sale or approval
-- by someone disabled before it is an exception, one made before is not.
-- Those disabled before this column existed count as disabled since now.
ALTER TABLE staff ADD COLUMN inactive_since BIGINT;
UPDATE staff SET inactive_since = (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT WHERE NOT active;
