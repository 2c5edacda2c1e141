# Copied by tests/test_injection.py to pwn/migrations/ under a name no Windows checkout
# could hold (a newline, angle brackets): see README.md.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("pwn", "0002_``` @org-team [Approve](x) #1 %%{init} click ~~x~~")]
    operations = [migrations.RemoveField(model_name="thing", name="note")]
