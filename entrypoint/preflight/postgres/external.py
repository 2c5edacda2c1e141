"""An existing server the user points at: Preflight only creates and drops its own
uniquely named scratch databases there and never touches any other database.

The server outlives Preflight, so its scratch databases are watched (dropped by the
watchdog if Preflight is killed), and each run first drops those a dead run of this
machine left (`Server.sweep`).
"""

from __future__ import annotations

from types import TracebackType

import psycopg

from preflight import secrets as secret_registry
from preflight.errors import InfrastructureError
from preflight.postgres.base import Server, ServerInfo, server_version_num


class ExternalProvider:
    """Context manager: connect to a given server, yield a `Server`, drop what we made."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.server: Server | None = None

    def url_ahead(self, dbname: str) -> None:
        """Not offered: the server is checked (reachable, may create databases) before anything uses it."""
        return None

    def __enter__(self) -> Server:
        try:
            params = psycopg.conninfo.conninfo_to_dict(self.url)
        except psycopg.ProgrammingError:
            raise InfrastructureError(
                "--postgres external:URL has a URL that does not parse",
                "use external:postgresql://user:password@host:port/dbname",
            ) from None
        password = str(params.get("password") or "")
        secret_registry.register(password)
        try:
            with psycopg.connect(self.url, connect_timeout=10) as conn:
                version = server_version_num(conn)
                row = conn.execute(
                    "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
        except psycopg.OperationalError as exc:
            raise InfrastructureError(
                f"cannot connect to the external scratch server: {str(exc).strip().splitlines()[-1]}",
                "check the external:URL host, port, user and password",
            ) from None
        if not row or not row[0]:
            raise InfrastructureError(
                "the external scratch server's user may not create databases",
                "grant it CREATEDB (ALTER ROLE ... CREATEDB) or use --postgres local",
            )
        info = ServerInfo(
            host=str(params.get("host") or "localhost"),
            port=int(params.get("port") or 5432),
            user=str(params.get("user") or ""),
            password=password,
            version_num=version,
            provider="external",
        )
        self.server = Server(info, watched=True)
        self.server.sweep()
        return self.server

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.server is not None:
            self.server.drop_all()
            self.server = None
