from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("a", "0002_a_x"), ("b", "0001_initial")]
    operations = [
        migrations.AddField(model_name="a", name="partner", field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, to="b.b")),
    ]
