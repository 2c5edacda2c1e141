BEGIN;
--
-- Add field session_hash to accesslog
--
ALTER TABLE "axes_accesslog" ADD COLUMN "session_hash" varchar(64) DEFAULT '' NOT NULL;
ALTER TABLE "axes_accesslog" ALTER COLUMN "session_hash" DROP DEFAULT;
COMMIT;
