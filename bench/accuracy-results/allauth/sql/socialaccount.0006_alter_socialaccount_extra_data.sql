BEGIN;
--
-- Alter field extra_data on socialaccount
--
ALTER TABLE "socialaccount_socialaccount" ALTER COLUMN "extra_data" TYPE jsonb USING "extra_data"::jsonb;
COMMIT;
