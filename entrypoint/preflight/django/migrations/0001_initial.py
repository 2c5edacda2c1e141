"""Create the permission-holding model (no table: managed = False); Django 4.2+."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []  # noqa: RUF012  (Django copies both lists per instance)

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Migrations",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ],
            options={
                "permissions": (("apply_migrations", "Can apply pending migrations through Preflight"),),
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
