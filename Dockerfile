# Preflight as a GitHub Action: Debian's PostgreSQL server and client (so the `local`
# provider works without a Docker socket), git (for base-ref), Python and uv (to install
# the user's project fast). BASE_IMAGE is overridable for local builds.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    PATH=/opt/preflight/bin:/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv postgresql-15 postgresql-client-15 git ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*

COPY pyproject.toml README.md /src/
COPY entrypoint /src/entrypoint
COPY templates /src/templates
COPY examples /src/examples
RUN python3 -m venv /opt/preflight \
    && /opt/preflight/bin/pip install --quiet uv \
    && /opt/preflight/bin/uv pip install --quiet --python /opt/preflight/bin/python "/src[docker]" \
    && rm -rf /src

ENTRYPOINT ["preflight-action"]
