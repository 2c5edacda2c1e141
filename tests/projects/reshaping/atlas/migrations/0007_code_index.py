from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("atlas", "0006_quiet")]
    operations = [
        migrations.AddIndex(model_name="tag", index=models.Index(fields=["code"], name="tag_code_idx")),
        migrations.AlterField(model_name="book", name="heading", field=models.CharField(max_length=150)),
    ]
