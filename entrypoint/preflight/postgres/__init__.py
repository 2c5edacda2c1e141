"""Throwaway PostgreSQL servers behind one small interface.

`start(spec, ...)` returns a context manager that yields a `Server`; leaving it stops
the server (or, for an external one, drops the scratch databases Preflight created)
whether the block succeeded, raised or was interrupted.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from preflight.errors import UsageError
from preflight.postgres.base import Server, ServerInfo

__all__ = ["PROVIDERS", "Provider", "Server", "ServerInfo", "docker_available", "needs_major", "resolve", "start"]

PROVIDERS = ("auto", "local", "docker", "external:URL")


class Provider(Protocol):
    """A throwaway server: entering starts it and yields the `Server`, leaving removes it all."""

    def url_ahead(self, dbname: str) -> str | None:
        """The URL `dbname` will have once the server runs, when known before it starts."""

    def __enter__(self) -> Server: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def docker_available() -> bool:
    """Return whether a Docker-API engine answers (what `auto` chooses by)."""
    from preflight.postgres.docker import engine_answers

    return engine_answers()


def resolve(spec: str) -> str:
    """Return the provider `spec` stands for: `auto` becomes docker or local, once per run."""
    if spec == "auto":
        return "docker" if docker_available() else "local"
    return spec


def needs_major(spec: str, image: str | None) -> bool:
    """Return whether starting `spec` needs the target's major version (a container's image tag)."""
    return resolve(spec) == "docker" and image is None


def start(
    spec: str,
    *,
    pg_bin: str | None = None,
    pg_user: str | None = None,
    image: str | None = None,
    major: int | None = None,
) -> Provider:
    """Return the provider named by `spec` (auto, local, docker or external:URL)."""
    spec = resolve(spec)
    if spec == "local":
        from preflight.postgres.local import LocalProvider

        return LocalProvider(pg_bin=pg_bin, pg_user=pg_user)
    if spec == "docker":
        from preflight.postgres.docker import DockerProvider

        return DockerProvider(image=image, major=major)
    if spec.startswith("external:"):
        from preflight.postgres.external import ExternalProvider

        return ExternalProvider(spec.removeprefix("external:"))
    raise UsageError(
        f"unknown --postgres value {spec!r}",
        "use auto, local, docker or external:postgresql://user@host/db",
    )
