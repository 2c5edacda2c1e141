"""A custom operation: a field added on the database, whose SQL sqlmigrate cannot print."""

from django.db import migrations


class AddFieldQuietly(migrations.AddField):
    reduces_to_sql = False
