from django.db import migrations


class Migration(migrations.Migration):
    """django-celery-results 0010: DROP INDEX IF EXISTS of an index that was never created."""

    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RemoveIndex(model_name="groupresult", name="accounts_gr_group_i_299b0d_idx")]
