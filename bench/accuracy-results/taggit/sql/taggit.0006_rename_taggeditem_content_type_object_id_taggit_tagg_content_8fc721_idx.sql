BEGIN;
--
-- Rename unnamed index for ('content_type', 'object_id') on taggeditem to taggit_tagg_content_8fc721_idx
--
ALTER INDEX "taggit_taggeditem_content_type_id_object_id_196cc965_idx" RENAME TO "taggit_tagg_content_8fc721_idx";
COMMIT;
