from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("atlas", "0003_keys")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name="tag", name="weight", field=models.IntegerField(default=0)),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE atlas_tag ADD COLUMN weight integer DEFAULT 0 NOT NULL",
                    reverse_sql="ALTER TABLE atlas_tag DROP COLUMN weight",
                ),
            ],
        ),
        migrations.AlterField(model_name="tag", name="weight", field=models.IntegerField(default=1)),
    ]
