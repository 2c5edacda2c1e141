"""A throwaway server in a container, through testcontainers.

The image is `postgres:<major>` with the target server's major version, so the copy
behaves like production (overridable with --image). testcontainers is an optional
dependency (`pip install preflight[docker]`), imported only when this provider is used.

Each container carries its owner mark as the label `preflight.owner`, and the watchdog
removes the run's containers (label `preflight.run`) if Preflight is killed, with or
without testcontainers' Ryuk. Each run first removes containers a dead run of this
machine left.
"""

from __future__ import annotations

import contextlib
import secrets
from types import TracebackType
from typing import Any

import psycopg

from preflight import janitor
from preflight import secrets as secret_registry
from preflight.errors import InfrastructureError
from preflight.postgres.base import RESTORE_SETTINGS, Server, ServerInfo, server_version_num

DEFAULT_MAJOR = 16
SUPERUSER = "preflight"
# Same durability trade-off and restore settings as the local provider: a copy that lives for one run.
COMMAND = " ".join(
    [
        "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        *(f"-c {key}={value}" for key, value in RESTORE_SETTINGS.items()),
    ]
)
OWNER_LABEL = "preflight.owner"
RUN_LABEL = "preflight.run"


def engine_answers(timeout: float = 2.0) -> bool:
    """Return whether a Docker-API engine answers a ping (DOCKER_HOST or the default socket)."""
    try:
        import docker  # testcontainers' own client library
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class DockerProvider:
    """Context manager: run `postgres:<major>` with testcontainers, yield a `Server`."""

    def __init__(self, image: str | None = None, major: int | None = None) -> None:
        self.image = image or f"postgres:{major or DEFAULT_MAJOR}"
        self.container: Any = None
        self._watch: str | None = None

    def url_ahead(self, dbname: str) -> None:
        """Unknown before the start: the engine maps the port when the container runs."""
        return None

    def __enter__(self) -> Server:
        try:
            try:
                from testcontainers.community.postgres import PostgresContainer
            except ImportError:  # testcontainers < 4.14 has no `community` namespace
                from testcontainers.postgres import PostgresContainer
        except ImportError:
            raise InfrastructureError(
                "--postgres docker needs testcontainers",
                "pip install 'preflight[docker]', or use --postgres local",
            ) from None
        if not engine_answers():
            raise InfrastructureError(
                "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock)",
                "start Docker or Podman's API service, or use --postgres local",
            )
        swept = sweep()
        password = secrets.token_urlsafe(24)
        secret_registry.register(password)
        owner = janitor.me()
        run = f"{owner.host}-{owner.pid}-{owner.start}"
        container = (
            PostgresContainer(self.image, username=SUPERUSER, password=password, dbname="postgres", driver=None)
            .with_command(COMMAND)
            .with_kwargs(labels={OWNER_LABEL: owner.text(), RUN_LABEL: run})
        )
        self._watch = janitor.watch("containers", label=f"{RUN_LABEL}={run}")
        try:
            self.container = container.start()
            host = container.get_container_host_ip()
            port = int(container.get_exposed_port(5432))
            with psycopg.connect(
                host=host, port=port, user=SUPERUSER, password=password, dbname="postgres", connect_timeout=10
            ) as conn:
                version = server_version_num(conn)
        except BaseException as exc:
            self._stop(container)
            if isinstance(exc, Exception) and not isinstance(exc, InfrastructureError):
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InfrastructureError(
                    f"container {self.image} did not start: {reason}",
                    "check the image exists for your engine (--image), or use --postgres local",
                ) from None
            raise
        server = Server(ServerInfo(host, port, SUPERUSER, password, version, "docker"))
        server.swept = swept
        return server

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop(self.container)
        self.container = None

    def _stop(self, container: Any) -> None:
        if container is not None:
            with contextlib.suppress(Exception):
                container.stop()  # stops and removes the container and its volumes
        janitor.forget(self._watch)
        self._watch = None


def sweep() -> list[str]:
    """Remove containers whose owner died on this machine; return a line for each."""
    import docker

    removed = []
    with contextlib.suppress(Exception):
        client = docker.from_env(timeout=10)
        try:
            for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
                owner = janitor.Owner.parse(container.labels.get(OWNER_LABEL))
                if owner is not None and owner.dead_here():
                    container.remove(force=True, v=True)
                    removed.append(f"container {container.short_id} (run {owner.pid})")
        finally:
            client.close()
    return removed
