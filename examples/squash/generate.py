"""Write the squash example's long `ledger` history (run it again after changing it: python generate.py).

ledger: 60 migrations. 0001 creates Account and Entry; then each migration is one small
change to Entry in turn (a field added, indexed, `memo` widened, the index and the field
dropped again), except:
  0010  a RunPython marked elidable (a one-off backfill: a squash may drop it);
  0040  a RunPython NOT marked elidable (it creates the default account: a squash must keep
        it, so the squash report's range stops before it).
billing.0001 depends on ledger.0020: another app's edge into the middle of the history.
models.py matches the last migration, so `makemigrations --check` finds nothing.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
LEDGER = HERE / "ledger" / "migrations"
COUNT = 60
ELIDABLE, NOT_ELIDABLE, BILLING_EDGE = 10, 40, 20

HEADER = "from django.db import migrations, models\nimport django.db.models.deletion\n"


def migration(dependencies: list[tuple[str, str]], operations: list[str], extra: str = "", initial: bool = False) -> str:
    deps = ", ".join(f'("{app}", "{name}")' for app, name in dependencies)
    body = "".join(f"        {operation},\n" for operation in operations)
    flag = "    initial = True\n" if initial else ""
    return f"{HEADER}{extra}\n\nclass Migration(migrations.Migration):\n{flag}    dependencies = [{deps}]\n    operations = [\n{body}    ]\n"


def main() -> None:
    LEDGER.mkdir(parents=True, exist_ok=True)
    for old in LEDGER.glob("0*.py"):
        old.unlink()
    (LEDGER / "__init__.py").write_text("")
    names: list[str] = []
    memo = 100
    fields: list[str] = []
    indexed: list[str] = []
    step = 0
    for number in range(1, COUNT + 1):
        extra = ""
        if number == 1:
            name = "0001_initial"
            operations = [
                'migrations.CreateModel(name="Account", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("name", models.CharField(max_length=100, unique=True))])',
                'migrations.CreateModel(name="Entry", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("amount", models.DecimalField(decimal_places=2, max_digits=12)), ("memo", models.CharField(default="", max_length=100)), ("account", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="ledger.account"))])',
            ]
        elif number == ELIDABLE:
            name = f"{number:04d}_backfill_memos"
            extra = '\n\ndef blank_memos(apps, schema_editor):\n    apps.get_model("ledger", "Entry").objects.filter(memo__isnull=True).update(memo="")\n'
            operations = ["migrations.RunPython(blank_memos, migrations.RunPython.noop, elidable=True)"]
        elif number == NOT_ELIDABLE:
            name = f"{number:04d}_default_account"
            extra = '\n\ndef create_cash(apps, schema_editor):\n    apps.get_model("ledger", "Account").objects.get_or_create(name="cash")\n'
            operations = ["migrations.RunPython(create_cash, migrations.RunPython.noop)"]
        else:
            kind = step % 5
            step += 1
            if kind == 0:
                field = f"f{number}"
                fields.append(field)
                name = f"{number:04d}_entry_{field}"
                operations = [f'migrations.AddField(model_name="entry", name="{field}", field=models.IntegerField(null=True))']
            elif kind == 1:
                field = fields[-1]
                indexed.append(field)
                name = f"{number:04d}_entry_{field}_idx"
                operations = [f'migrations.AddIndex(model_name="entry", index=models.Index(fields=["{field}"], name="entry_{field}_idx"))']
            elif kind == 2:
                memo += 10
                name = f"{number:04d}_alter_entry_memo"
                operations = [f'migrations.AlterField(model_name="entry", name="memo", field=models.CharField(default="", max_length={memo}))']
            elif kind == 3:
                field = indexed.pop()
                name = f"{number:04d}_remove_entry_{field}_idx"
                operations = [f'migrations.RemoveIndex(model_name="entry", name="entry_{field}_idx")']
            else:
                field = fields.pop()
                name = f"{number:04d}_remove_entry_{field}"
                operations = [f'migrations.RemoveField(model_name="entry", name="{field}")']
        dependencies = [("ledger", names[-1])] if names else []
        (LEDGER / f"{name}.py").write_text(migration(dependencies, operations, extra, initial=number == 1))
        names.append(name)
    lines = [
        "from django.db import models",
        "",
        "",
        "class Account(models.Model):",
        "    name = models.CharField(max_length=100, unique=True)",
        "",
        "",
        "class Entry(models.Model):",
        "    account = models.ForeignKey(Account, on_delete=models.PROTECT)",
        "    amount = models.DecimalField(max_digits=12, decimal_places=2)",
        f'    memo = models.CharField(max_length={memo}, default="")',
        *[f"    {field} = models.IntegerField(null=True)" for field in fields],
    ]
    if indexed:
        joined = ", ".join(f'models.Index(fields=["{f}"], name="entry_{f}_idx")' for f in indexed)
        lines += ["", "    class Meta:", f"        indexes = [{joined}]"]
    (HERE / "ledger" / "models.py").write_text("\n".join(lines) + "\n")
    edge = names[BILLING_EDGE - 1]
    (HERE / "billing" / "migrations" / "0001_initial.py").write_text(
        migration(
            [("ledger", edge)],
            [
                'migrations.CreateModel(name="Invoice", fields=[("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")), ("total", models.DecimalField(decimal_places=2, max_digits=12)), ("account", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="ledger.account"))])'
            ],
            initial=True,
        )
    )


if __name__ == "__main__":
    main()
