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
    extras: str = ""  # pip extras of the new release, e.g. "[socialaccount]"
    settings: str = ""  # appended to the project's settings (middleware a release's checks require)


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

ALLAUTH_SEED = """
from django.contrib.auth.models import User
from django.db.models import Count
from django.db.models.functions import Lower
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

N = {rows}
users = User.objects.bulk_create(
    [
        # every third address mixed-case: what 0.54 stored as typed, which 65.x lowercases
        User(username=f"user{{i}}", email=f"User{{i}}@Example.COM" if i % 3 == 0 else f"user{{i}}@example.com",
             password="!")
        for i in range(N // 2)
    ],
    batch_size=5000,
)
addresses = []
for i, user in enumerate(users):
    addresses.append(EmailAddress(user=user, email=user.email, verified=i % 2 == 0, primary=True))
    if i % 6 == 0:  # a second primary address (legacy data): what account 0008 fixes up before 0009's unique
        addresses.append(EmailAddress(user=user, email=f"Alt{{i}}@Other.example", verified=False, primary=True))
    elif i % 4 == 1:
        addresses.append(EmailAddress(user=user, email=f"second{{i}}@other.example", verified=True, primary=False))
EmailAddress.objects.bulk_create(addresses, batch_size=5000)
apps = [
    SocialApp.objects.create(provider=p, name=p, client_id=f"id-{{p}}", secret="s")
    for p in ("google", "github", "facebook", "gitlab", "apple")
]
accounts = SocialAccount.objects.bulk_create(
    [
        SocialAccount(user=user, provider=apps[i % 5].provider, uid=str(100000 + i), extra_data={{"n": i}})
        for i, user in enumerate(users[: N * 2 // 5])
    ],
    batch_size=5000,
)
SocialToken.objects.bulk_create(
    [SocialToken(app=apps[i % 5], account=a, token=f"tok{{i}}", token_secret="") for i, a in enumerate(accounts)],
    batch_size=5000,
)
print("seeded", User.objects.count(), EmailAddress.objects.count(), SocialAccount.objects.count(),
      SocialToken.objects.count(), "users with two primary addresses:",
      EmailAddress.objects.filter(primary=True).values("user").annotate(c=Count("id")).filter(c__gt=1).count(),
      "mixed-case addresses:", EmailAddress.objects.exclude(email=Lower("email")).count())
"""

ALLAUTH_SETTINGS = """
SITE_ID = 1
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
if importlib.util.find_spec("allauth.account.middleware"):  # 65.x refuses to start without it
    MIDDLEWARE.append("allauth.account.middleware.AccountMiddleware")
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
"""

CELERY_RESULTS_SEED = """
import datetime, uuid
from django.utils import timezone
from django_celery_results.models import ChordCounter, TaskResult

N = {rows}
now = timezone.now()
names = ["app.tasks.send_mail", "app.tasks.report", None]  # a third without a task name
statuses = ["SUCCESS", "FAILURE", "PENDING"]
TaskResult.objects.bulk_create(
    [
        TaskResult(
            task_id=str(uuid.UUID(int=i)), task_name=names[i % 3], task_args="[1, 2]", task_kwargs="{{}}",
            status=statuses[i * 7 % 3], worker="w1@host", content_type="application/json",
            content_encoding="utf-8", result='{{"ok": true}}', date_done=now - datetime.timedelta(minutes=i),
        )
        for i in range(N)
    ],
    batch_size=5000,
)
ChordCounter.objects.bulk_create(
    [ChordCounter(group_id=str(uuid.UUID(int=N + i)), sub_tasks="[]", count=3) for i in range(N // 25)]
)
print("seeded", TaskResult.objects.count(), ChordCounter.objects.count())
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
    Scenario(
        name="allauth",
        package="django-allauth",
        old="0.54.0",
        new="65.3.0",
        apps=("django.contrib.sites", "allauth", "allauth.account", "allauth.socialaccount"),
        labels=("account", "socialaccount"),
        seed=ALLAUTH_SEED,
        rows="N/2 users (a third with mixed-case addresses), about 0.7N email addresses (N/12 users with two "
        "primary addresses), 5 social apps, 2N/5 social accounts, 2N/5 social tokens",
        extras="[socialaccount]",  # 65.x made requests and pyjwt an extra; 0.54 required them
        settings=ALLAUTH_SETTINGS,
    ),
    Scenario(
        name="celery-results",
        package="django-celery-results",
        old="2.0.1",
        new="2.5.1",
        apps=("django_celery_results",),
        labels=("django_celery_results",),
        seed=CELERY_RESULTS_SEED,
        rows="N task results (a third with NULL task_name), N/25 chord counters",
    ),
)
