#!/usr/bin/env bash
# Create the interpreters the suite runs the probe with: one virtualenv per supported
# Django LTS, cached under .ci/.cache. Prints nothing on success; reuses what exists.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.ci/.cache"
mkdir -p "$cache"
for series in 4.2 5.2; do
  venv="$cache/django-$series"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import django, psycopg, sys; sys.exit(django.get_version().startswith('$series') is False)" 2>/dev/null; then
    continue
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "Django~=$series.0" "psycopg[binary]>=3.1.8"
done
