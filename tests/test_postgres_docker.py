"""The docker provider through testcontainers on a real Docker-API engine.

On these machines the engine is Podman serving the Docker API, with a postgres:15 image
built locally by scripts/podman-engine.sh (scripts/test.sh starts it). Where no engine
answers, these tests are skipped with the reason, and scripts/test.sh says so loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from preflight import postgres
from preflight.errors import InfrastructureError
from preflight.postgres.base import Server
from preflight.postgres.docker import DockerProvider
from preflight.preview import PreviewOptions, preview
from preflight.progress import QuietProgress
from preflight.project import Project

pytestmark = pytest.mark.skipif(
    not postgres.docker_available(), reason="no Docker-API engine answers (scripts/podman-engine.sh makes one)"
)


@pytest.fixture
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    yield client
    client.close()


def _containers(client: docker.DockerClient) -> set[str]:
    return {c.id for c in client.containers.list(all=True)}


def test_start_reuse_and_cleanup(engine: docker.DockerClient) -> None:
    before = _containers(engine)
    provider = DockerProvider(major=15)
    assert provider.image == "postgres:15"
    with provider as server:
        (container_id,) = _containers(engine) - before
        assert server.info.provider == "docker" and server.info.major == 15
        template = server.create_database("tpl")
        with server.connect(template) as conn:
            conn.execute("CREATE TABLE t AS SELECT generate_series(1, 50) AS n")
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
        copy = server.create_database("copy", template=template)
        with server.connect(copy) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (50,)
    assert container_id not in _containers(engine)


def test_cleanup_after_exception(engine: docker.DockerClient) -> None:
    before = _containers(engine)
    with pytest.raises(RuntimeError, match="boom"), DockerProvider(major=15):
        assert len(_containers(engine) - before) == 1
        raise RuntimeError("boom")
    assert _containers(engine) == before


def test_missing_image_is_one_clear_error(engine: docker.DockerClient) -> None:
    before = _containers(engine)
    with (
        pytest.raises(InfrastructureError, match=r"did not start.*--image"),
        DockerProvider(image="postgres:no-such-tag"),
    ):
        pass
    assert _containers(engine) == before


def test_auto_picks_docker_when_an_engine_answers() -> None:
    assert isinstance(postgres.start("auto"), DockerProvider)


def test_preview_through_docker(engine: docker.DockerClient, shop: Project, demo_dump: Path, pg: Server) -> None:
    before = _containers(engine)
    report = preview(PreviewOptions(project=shop, target_dump=demo_dump, postgres="docker"), QuietProgress())
    assert report.scratch_provider == "docker"
    assert report.scratch_version.split(".")[0] == report.target.server_version.split(".")[0]  # type: ignore[union-attr]
    assert report.count("applied") == 12 and report.failure is None
    assert _containers(engine) == before
