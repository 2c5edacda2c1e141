"""Apply pending migrations to production: under a lock, after a verified backup, audited."""
