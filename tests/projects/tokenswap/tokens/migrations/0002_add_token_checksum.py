# Shaped like django-oauth-toolkit's oauth2_provider.0012_add_token_checksum (3.0.1).
from django.db import migrations, models
from django.db.models.functions import MD5


def fill(apps, schema_editor):
    apps.get_model("tokens", "AccessToken").objects.update(token_checksum=MD5("token"))


class Migration(migrations.Migration):
    dependencies = [("tokens", "0001_initial")]
    operations = [
        migrations.AddField("accesstoken", "token_checksum", models.CharField(max_length=64, null=True)),
        migrations.AlterField("accesstoken", "token", models.TextField()),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            "accesstoken", "token_checksum", models.CharField(max_length=64, unique=True, db_index=True)
        ),
        # unique=True -> db_index=True: the constraint goes, a plain index on code comes.
        migrations.AlterField("accesstoken", "code", models.CharField(max_length=32, db_index=True)),
    ]
