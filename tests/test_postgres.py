"""The throwaway server providers: start, reuse, cleanup, on real PostgreSQL."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from preflight import postgres
from preflight.errors import InfrastructureError, UsageError
from preflight.postgres.base import Server
from preflight.postgres.external import ExternalProvider
from preflight.postgres.local import LocalProvider


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_local_start_settings_and_cleanup() -> None:
    provider = LocalProvider()
    with provider as server:
        tmp, pid = provider.tmp, provider.process.pid  # type: ignore[union-attr]
        assert tmp is not None and tmp.is_dir()
        assert list(tmp.glob(".s.PGSQL.*")), "unix socket in the private temp dir"
        with server.connect() as conn:
            for name in ("fsync", "synchronous_commit", "full_page_writes"):
                assert conn.execute(f"SHOW {name}").fetchone() == ("off",)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert server.info.major >= 13
        assert server.info.password not in repr(server.info)
    assert not tmp.exists()
    assert not _alive(pid)


def test_local_url_ahead_is_where_the_database_will_be() -> None:
    provider = LocalProvider()
    promised = provider.url_ahead("shop_copy")
    with provider as server:
        name = server.create_database("copy", name="shop_copy")
        assert name == "shop_copy"
        assert server.info.url(name) == promised  # the probe started with it finds the copy there
        with psycopg.connect(promised) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("shop_copy",)


def test_local_url_ahead_with_the_port_taken_meanwhile_starts_elsewhere() -> None:
    provider = LocalProvider()
    promised = provider.url_ahead("postgres")
    port = int(promised.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with provider as server:
            assert server.info.port != port
            assert server.info.password in promised  # the same password: only the port moved
            with server.connect() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)


def test_local_clusters_come_from_a_cache_without_a_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """initdb runs once per set of binaries; later runs copy its pristine cluster and set their own password."""
    monkeypatch.setenv("PREFLIGHT_CLUSTER_CACHE", str(tmp_path / "cache"))
    passwords = []
    for _ in range(2):
        provider = LocalProvider()
        with provider as server:
            cached = list((tmp_path / "cache").glob("cluster-*"))
            assert len(cached) == 1 and (cached[0] / "PG_VERSION").exists()
            passwords.append(server.info.password)
            info = server.info
            psycopg.connect(
                host=info.host, port=info.port, user=info.user, password=info.password, dbname="postgres"
            ).close()
            for wrong in ("", "wrong", *passwords[:-1]):  # not the cache's, nor an earlier run's
                with pytest.raises(psycopg.OperationalError):
                    psycopg.connect(host=info.host, port=info.port, user=info.user, password=wrong, dbname="postgres")
    assert passwords[0] != passwords[1]
    # The cache holds no password: its pg_authid was written before any was set.
    authid = (cached[0] / "global" / "1260").read_bytes()
    assert not any(password.encode() in authid for password in passwords) and b"SCRAM-SHA-256" not in authid


def test_local_without_a_cluster_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFLIGHT_CLUSTER_CACHE", "")
    with LocalProvider() as server, server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_local_cleanup_after_exception() -> None:
    provider = LocalProvider()
    with pytest.raises(RuntimeError, match="boom"), provider:
        tmp, pid = provider.tmp, provider.process.pid  # type: ignore[union-attr]
        raise RuntimeError("boom")
    assert tmp is not None and not tmp.exists()
    assert not _alive(pid)


def test_local_tcp_needs_the_password(pg: Server) -> None:
    info = pg.info
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=info.host, port=info.port, user=info.user, password="wrong", dbname="postgres")


def test_local_missing_binaries_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="--pg-bin"):
        LocalProvider(pg_bin=str(tmp_path))


@pytest.mark.skipif(os.geteuid() != 0, reason="the OS-user switch only happens as root")
def test_local_unknown_os_user() -> None:
    with pytest.raises(InfrastructureError, match="no OS user 'nobody-here'"):
        LocalProvider(pg_user="nobody-here")


def test_reuse_copies_from_a_template_are_independent(pg: Server) -> None:
    template = pg.create_database("tpl")
    with pg.connect(template) as conn:
        conn.execute("CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 100)")
    first = pg.create_database("copy", template=template)
    second = pg.create_database("copy", template=template)
    with pg.connect(first) as conn:
        conn.execute("DELETE FROM t")
    with pg.connect(second) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (100,)
    for name in (first, second, template):
        pg.drop_database(name)
    with pg.connect() as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert not names & {first, second, template}


def test_never_drops_a_database_it_did_not_create(pg: Server) -> None:
    with pytest.raises(ValueError, match="did not create"):
        pg.drop_database("postgres")


def test_external_only_touches_its_own_databases(pg: Server) -> None:
    keep = pg.create_database("keep")
    with pg.connect(keep) as conn:
        conn.execute("CREATE TABLE precious (n int); INSERT INTO precious VALUES (42)")
    url = pg.info.url(keep)
    with pg.connect() as conn:
        before = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    with ExternalProvider(url) as server:
        made = server.create_database("scratch")
        with server.connect(made) as conn:
            conn.execute("CREATE TABLE junk (n int)")
        with pg.connect() as conn:
            assert made in {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    with pg.connect() as conn:
        after = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert after == before
    with pg.connect(keep) as conn:
        assert conn.execute("SELECT n FROM precious").fetchone() == (42,)
    pg.drop_database(keep)


def test_external_unreachable_is_an_infrastructure_error() -> None:
    with (
        pytest.raises(InfrastructureError, match="cannot connect"),
        ExternalProvider("postgresql://u:secretpw@127.0.0.1:1/db"),
    ):
        pass


def test_unknown_provider_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown --postgres"):
        postgres.start("kubernetes")


def test_auto_picks_local_without_a_docker_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert isinstance(postgres.start("auto"), LocalProvider)


def test_docker_provider_without_engine_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # Point the client at a socket that does not exist: a real "no engine" situation.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(InfrastructureError, match="no Docker engine answers"), postgres.start("docker"):
        pass


@pytest.mark.skipif(os.geteuid() != 0, reason="the OS-user switch only happens as root")
def test_private_tmpdir_falls_back_to_a_reachable_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    provider = LocalProvider()
    with provider as server, server.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        tmp = provider.tmp
        assert tmp is not None and private not in tmp.parents
    assert not tmp.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="the OS-user switch only happens as root")
def test_server_runs_without_roots_groups() -> None:
    provider = LocalProvider()
    with provider:
        pid = provider.process.pid  # type: ignore[union-attr]
        status = Path(f"/proc/{pid}/status").read_text()
    groups = next(line for line in status.splitlines() if line.startswith("Groups:")).split()[1:]
    uid = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1]
    assert "0" not in groups and uid != "0"
