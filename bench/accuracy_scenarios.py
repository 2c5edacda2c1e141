"""The real-package scenarios of bench/accuracy.py: which package, which two released
versions, which apps, and how production data is seeded (through the old release's ORM,
so every NOT NULL column and default is the package's own).
"""

from __future__ import annotations

from dataclasses import dataclass

DJANGO = "Django>=4.2,<5.0"  # both releases of every scenario support Django 4.2 LTS


@dataclass(frozen=True)
class Scenario:
    name: str
    package: str
    old: str
    new: str
    apps: tuple[str, ...]  # INSTALLED_APPS the package needs, besides contrib
    labels: tuple[str, ...]  # app labels whose migrations are judged
    seed: str  # Python run in the old release's venv after `migrate`, with Django set up
    rows: str  # what the seed makes, for the docs


OAUTH_SEED = """
import datetime, hashlib
from django.contrib.auth.models import User
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

N = {rows}
users = User.objects.bulk_create(
    [User(username=f"user{{i}}", email=f"user{{i}}@example.com", password="!") for i in range(2000)]
)
apps = Application.objects.bulk_create(
    [
        Application(
            name=f"app{{i}}", user=users[i], client_type="confidential",
            authorization_grant_type="authorization-code", redirect_uris="https://example.com/cb",
        )
        for i in range(12)
    ]
)
now = timezone.now()
tokens = AccessToken.objects.bulk_create(
    [
        AccessToken(
            token=hashlib.sha1(f"access{{i}}".encode()).hexdigest(), user=users[i % len(users)],
            application=apps[i % len(apps)], expires=now + datetime.timedelta(hours=10 - i % 20),
            scope="read write",
        )
        for i in range(N)
    ],
    batch_size=5000,
)
RefreshToken.objects.bulk_create(
    [
        RefreshToken(
            token=hashlib.sha1(f"refresh{{i}}".encode()).hexdigest(), user=users[i % len(users)],
            application=apps[i % len(apps)], access_token=tokens[i] if i % 3 else None,
        )
        for i in range(N)
    ],
    batch_size=5000,
)
Grant.objects.bulk_create(
    [
        Grant(
            code=f"grant{{i}}", user=users[i % len(users)], application=apps[i % len(apps)],
            expires=now, redirect_uri="https://example.com/cb", scope="read",
        )
        for i in range(N // 10)
    ],
    batch_size=5000,
)
print("seeded", User.objects.count(), Application.objects.count(), AccessToken.objects.count(),
      RefreshToken.objects.count(), Grant.objects.count())
"""

AXES_SEED = """
from axes.models import AccessAttempt, AccessLog
from django.utils import timezone

N = {rows}
now = timezone.now()
agents = [f"Mozilla/5.0 (X11; Linux x86_64) agent/{{i}}" for i in range(40)]
attempts = []
for i in range(N // 2):
    # every 10th attempt repeats an earlier (username, ip, agent): the rows axes 0007
    # deduplicates before adding its unique constraint; every 50th has no username
    j = i - 1 if i % 10 == 9 else i
    attempts.append(
        AccessAttempt(
            username=None if j % 50 == 0 else f"user{{j}}",
            ip_address=f"10.{{j // 65536 % 256}}.{{j // 256 % 256}}.{{j % 256}}",
            user_agent=agents[j % len(agents)], get_data="", post_data="username=x",
            http_accept="text/html", path_info="/admin/login/", failures_since_start=1 + i % 5,
            attempt_time=now,
        )
    )
AccessAttempt.objects.bulk_create(attempts, batch_size=5000)
AccessLog.objects.bulk_create(
    [
        AccessLog(
            username=f"user{{i % 5000}}", ip_address=f"10.1.{{i // 256 % 256}}.{{i % 256}}",
            user_agent=agents[i % len(agents)], http_accept="text/html", path_info="/admin/login/",
            attempt_time=now,
        )
        for i in range(N * 2)
    ],
    batch_size=5000,
)
print("seeded", AccessAttempt.objects.count(), AccessLog.objects.count())
"""

TAGGIT_SEED = """
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from taggit.models import Tag, TaggedItem

N = {rows}
users = User.objects.bulk_create([User(username=f"user{{i}}", password="!") for i in range(N // 10)])
tags = Tag.objects.bulk_create([Tag(name=f"Tag {{i}}", slug=f"tag-{{i}}") for i in range(N // 10)])
user_type = ContentType.objects.get_for_model(User)
TaggedItem.objects.bulk_create(
    [
        TaggedItem(tag=tags[(i * 7 + j) % len(tags)], content_type=user_type, object_id=users[i].pk)
        for i in range(len(users))
        for j in range(20)
    ],
    batch_size=5000,
)
print("seeded", Tag.objects.count(), TaggedItem.objects.count())
"""

SCENARIOS = (
    Scenario(
        name="oauth-toolkit",
        package="django-oauth-toolkit",
        old="1.7.1",
        new="3.0.1",
        apps=("oauth2_provider",),
        labels=("oauth2_provider",),
        seed=OAUTH_SEED,
        rows="2,000 users, 12 applications, N access tokens, N refresh tokens, N/10 grants",
    ),
    Scenario(
        name="axes",
        package="django-axes",
        old="5.24.0",
        new="8.0.0",
        apps=("axes",),
        labels=("axes",),
        seed=AXES_SEED,
        rows="N/2 access attempts (10% duplicates of (username, ip_address, user_agent), 2% NULL username), "
        "2N access log rows",
    ),
    Scenario(
        name="taggit",
        package="django-taggit",
        old="1.5.1",
        new="5.0.1",
        apps=("taggit",),
        labels=("taggit",),
        seed=TAGGIT_SEED,
        rows="N/10 users, N/10 tags, 2N tagged items",
    ),
)
