from django.db import migrations
from django.db.models import Min


def dedupe(apps, schema_editor):
    Contact = apps.get_model("crm", "Contact")
    keep = Contact.objects.values("email").annotate(first=Min("id")).values_list("first", flat=True)
    Contact.objects.exclude(id__in=list(keep)).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0004_alter_contact_tier")]
    operations = [
        migrations.RunPython(dedupe, migrations.RunPython.noop),
    ]
