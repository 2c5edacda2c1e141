from django.db import migrations, models

# Every line of this SQL is something a Markdown renderer, a Mermaid diagram or the
# GitHub Actions runner would act on if Preflight passed it through unescaped.
PAYLOAD = """
-- ```
-- </details> <img src=x> [Approve](https://x) @org/team
SELECT '
::add-mask::z
::set-output name=x::y
##[add-mask]w
```
</details>
<img src=x>
# Owned
[Approve](https://x) @org/team www.example.com
### Pending migrations
' AS "x ``` </details> <img src=x>";
"""


class Migration(migrations.Migration):
    dependencies = [("pwn", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="thing",
            name="flag",
            field=models.BooleanField(default=False, db_column="f@org/team</details>"),
        ),
        migrations.RunSQL(PAYLOAD),
    ]
