from django.apps import AppConfig
from django.core import checks


def ledger_checks(app_configs, **kwargs):
    return [
        checks.Error("the ledger is not balanced", hint="post the missing entry", id="ledger.E001"),
        checks.Warning("the ledger has no auditor", id="ledger.W001"),
    ]


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self):
        checks.register(ledger_checks)
