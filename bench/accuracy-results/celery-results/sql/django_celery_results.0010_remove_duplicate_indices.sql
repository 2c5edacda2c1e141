BEGIN;
--
-- Remove index django_cele_group_i_299b0d_idx from chordcounter
--
DROP INDEX IF EXISTS "django_cele_group_i_299b0d_idx";
--
-- Remove index django_cele_group_i_3cddec_idx from groupresult
--
DROP INDEX IF EXISTS "django_cele_group_i_3cddec_idx";
--
-- Remove index django_cele_task_id_7f8fca_idx from taskresult
--
DROP INDEX IF EXISTS "django_cele_task_id_7f8fca_idx";
COMMIT;
