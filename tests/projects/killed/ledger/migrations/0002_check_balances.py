import os
import signal

from django.db import migrations


def run_out_of_memory(apps, schema_editor):
    # What the kernel's OOM killer does to a data migration that loads too much.
    os.kill(os.getpid(), signal.SIGKILL)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(run_out_of_memory, migrations.RunPython.noop)]
