from django.db import models


class Thing(models.Model):
    # The state after every migration of this app (0003 removes `note`).
    flag = models.BooleanField(default=False, db_column="f@org/team</details>")

    class Meta:
        db_table = "pwn_thing</details>@org/team"
