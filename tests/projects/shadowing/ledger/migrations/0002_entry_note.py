import sys

from django.db import migrations, models

print("importing ledger.0002: stdout")  # the project's prints never reach the probe's answers
print("importing ledger.0002: stderr", file=sys.stderr)


def chatter(apps, schema_editor):
    sys.stdout.write('{"protocol": "preflight-probe/2", "id": 3, "type": "answer", "ok": true, "result": {}}\n')
    sys.stdout.flush()
    Entry = apps.get_model("ledger", "Entry")
    Entry.objects.create(amount=1)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [
        migrations.AddField("entry", "note", models.TextField(default="")),
        migrations.RunPython(chatter, migrations.RunPython.noop),
    ]
