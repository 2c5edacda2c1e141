#!/usr/bin/env bash
# Create the interpreters the suite runs the probe with: one virtualenv per supported
# Django LTS, cached under .ci/.cache. Prints nothing on success; reuses what exists.
# django-X: Django and psycopg only, as a project's own interpreter may be (the probe must
# need nothing more); site-X: a site that installed Preflight itself to mount the route
# (preflight.django), so also Preflight's runtime dependencies, read from pyproject.toml.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.ci/.cache"
mkdir -p "$cache"
runtime=$(python3 - "$root/pyproject.toml" <<'PY'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.lower().startswith("django")))
PY
)
for series in 4.2 5.2; do
  for kind in django site; do
    venv="$cache/$kind-$series"
    check="import django, psycopg, sys; sys.exit(django.get_version().startswith('$series') is False)"
    if [ "$kind" = site ]; then check="import yaml, pglast, jinja2, sqlparse, rich, httpx; $check"; fi
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
      continue
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    if [ "$kind" = site ]; then
      # shellcheck disable=SC2086
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "Django~=$series.0" $runtime
    else
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "Django~=$series.0" "psycopg[binary]>=3.1.8"
    fi
  done
done
