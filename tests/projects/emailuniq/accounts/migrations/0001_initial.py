from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="EmailAddress",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.IntegerField()),
                ("email", models.CharField(max_length=254, unique=True)),
                ("verified", models.BooleanField(default=False)),
                ("primary", models.BooleanField(default=False)),
            ],
        ),
        migrations.CreateModel(
            name="GroupResult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("group_id", models.CharField(max_length=255)),
            ],
        ),
        # django-celery-results 0009's FakeAddIndex: the index is in the state, never in the database.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="groupresult",
                    index=models.Index(fields=["group_id"], name="accounts_gr_group_i_299b0d_idx"),
                ),
            ],
        ),
    ]
