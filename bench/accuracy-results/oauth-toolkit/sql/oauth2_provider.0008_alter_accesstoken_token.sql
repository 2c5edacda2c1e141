BEGIN;
--
-- Alter field token on accesstoken
--
-- (no-op)
COMMIT;
