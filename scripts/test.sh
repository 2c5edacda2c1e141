#!/usr/bin/env bash
# The project's one test command (README "Run the tests"; .ci/run calls exactly this).
# Installs what it needs on a fresh Debian/Ubuntu machine, then lints, type-checks and
# runs the whole suite against real PostgreSQL and real Django 4.2 and 5.2.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

# PostgreSQL server and client programs (initdb, postgres, pg_dump, pg_restore, psql).
if ! { command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; } \
   && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing PostgreSQL (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >/dev/null
  else
    echo "PostgreSQL server binaries are missing: install the postgresql package" >&2
    exit 1
  fi
fi
command -v git >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq git >/dev/null; }

say "installing preflight with its test dependencies"
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

say "Django 4.2 and 5.2 interpreters for the probe"
bash scripts/django-envs.sh

say "ruff"
python3 -m ruff check entrypoint tests bench
python3 -m ruff format --check entrypoint tests bench
say "mypy"
python3 -m mypy
say "import contracts (lint-imports: pyproject.toml [tool.importlinter])"
PYTHONPATH="$PWD/entrypoint${PYTHONPATH:+:$PYTHONPATH}" lint-imports --no-logo

say "Docker-API engine for the docker provider (Podman, locally built postgres:15)"
if engine_env="$(bash scripts/podman-engine.sh start)"; then
  eval "$engine_env"
  trap 'bash scripts/podman-engine.sh stop' EXIT
else
  echo "WARNING: no Docker-API engine could be made here; the docker provider tests WILL BE SKIPPED" >&2
fi

say "pytest"
set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
