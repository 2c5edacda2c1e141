from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("shop", "0003_order_placed_idx")]
    operations = [
        migrations.RunSQL("CREATE TABLE shop_audit (id integer PRIMARY KEY)", migrations.RunSQL.noop),
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN flagged boolean", migrations.RunSQL.noop),
    ]
