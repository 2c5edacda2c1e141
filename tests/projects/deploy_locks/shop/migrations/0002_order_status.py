from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        # First: its project state moves on before its ALTER waits, so a retry must start from the state before.
        migrations.RenameField(model_name="order", old_name="note", new_name="remark"),
        migrations.AddField(model_name="order", name="status", field=models.CharField(default="new", max_length=10)),
    ]
