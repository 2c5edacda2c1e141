from django.db import migrations, models


class Migration(migrations.Migration):
    """allauth account.0003 and 0009: uniques beside the existing UNIQUE (email), and one per user's primary."""

    dependencies = [("accounts", "0003_one_primary")]
    operations = [
        migrations.AddConstraint(
            model_name="emailaddress",
            constraint=models.UniqueConstraint(fields=["user_id", "email"], name="unique_email"),
        ),
        migrations.AddConstraint(
            model_name="emailaddress",
            constraint=models.UniqueConstraint(
                fields=["email"], condition=models.Q(verified=True), name="unique_verified_email"
            ),
        ),
        migrations.AddConstraint(
            model_name="emailaddress",
            constraint=models.UniqueConstraint(
                fields=["user_id"], condition=models.Q(primary=True), name="unique_primary_email"
            ),
        ),
    ]
