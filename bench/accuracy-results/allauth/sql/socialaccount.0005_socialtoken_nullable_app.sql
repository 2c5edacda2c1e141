BEGIN;
--
-- Alter field app on socialtoken
--
SET CONSTRAINTS "socialaccount_social_app_id_636a42d7_fk_socialacc" IMMEDIATE; ALTER TABLE "socialaccount_socialtoken" DROP CONSTRAINT "socialaccount_social_app_id_636a42d7_fk_socialacc";
ALTER TABLE "socialaccount_socialtoken" ALTER COLUMN "app_id" DROP NOT NULL;
ALTER TABLE "socialaccount_socialtoken" ADD CONSTRAINT "socialaccount_social_app_id_636a42d7_fk_socialacc" FOREIGN KEY ("app_id") REFERENCES "socialaccount_socialapp" ("id") DEFERRABLE INITIALLY DEFERRED;
COMMIT;
