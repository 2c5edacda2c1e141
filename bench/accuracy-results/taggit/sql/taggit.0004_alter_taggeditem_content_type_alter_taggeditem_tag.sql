BEGIN;
--
-- Alter field content_type on taggeditem
--
-- (no-op)
--
-- Alter field tag on taggeditem
--
-- (no-op)
COMMIT;
