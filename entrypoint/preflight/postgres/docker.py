"""A throwaway server in a container, through testcontainers.

The image is `postgres:<major>` with the target server's major version, so the copy
behaves like production (overridable with --image). testcontainers is an optional
dependency (`pip install preflight[docker]`), imported only when this provider is used.
"""

from __future__ import annotations

import contextlib
import secrets
from types import TracebackType
from typing import Any

import psycopg

from preflight import secrets as secret_registry
from preflight.errors import InfrastructureError
from preflight.postgres.base import Server, ServerInfo, server_version_num

DEFAULT_MAJOR = 16
SUPERUSER = "preflight"
# Same durability trade-off as the local provider: a copy that lives for one run.
COMMAND = "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


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
        password = secrets.token_urlsafe(24)
        secret_registry.register(password)
        container = PostgresContainer(
            self.image, username=SUPERUSER, password=password, dbname="postgres", driver=None
        ).with_command(COMMAND)
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
        return Server(ServerInfo(host, port, SUPERUSER, password, version, "docker"))

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop(self.container)
        self.container = None

    @staticmethod
    def _stop(container: Any) -> None:
        if container is None:
            return
        with contextlib.suppress(Exception):
            container.stop()  # stops and removes the container and its volumes
