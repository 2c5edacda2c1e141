BEGIN;
--
-- Create constraint unique_primary_email on model emailaddress
--
CREATE UNIQUE INDEX "unique_primary_email" ON "account_emailaddress" ("user_id", "primary") WHERE "primary";
COMMIT;
