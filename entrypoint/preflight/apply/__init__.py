"""`preflight apply`: the target itself migrated, under a lock, after a verified backup, audited."""
