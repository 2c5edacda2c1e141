"""The audited migration route: a reusable Django app (add "preflight.django" to INSTALLED_APPS).

It runs inside the project's own site, on Django's own connection: `GET status/` lists the
pending migrations and the last audit records, `POST apply/` applies them under the
migration advisory lock, and `manage.py preflight_migrate` does the same from a shell.
It imports no part of the CLI and no optional extra (the "route" import-linter contract).
"""
