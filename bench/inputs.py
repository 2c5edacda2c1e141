"""The benchmark's inputs, built by itself: dumps of the shop example and the machine's description.

A dump is the shop example (examples/shop of the benchmark's own checkout, so "before" and
"after" runs read the same input) migrated to its demo baseline, filled by its seed SQL
with `lines` order lines, and written with `pg_dump -Fc`. Built dumps are cached under
.ci/.cache/bench/ keyed by the example's contents, the size and the PostgreSQL major.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from pathlib import Path

import yaml

from preflight.postgres.base import Server

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"
SHOP_SETTINGS = "shop.settings"
CACHE = REPO / ".ci" / ".cache" / "bench"

# Migrate the shop to its demo baseline in one Django process.
BASELINE = """
import sys
import django
django.setup()
from django.core.management import call_command
for target in sys.argv[1:]:
    app, _, name = target.partition(".")
    call_command("migrate", app, *([] if name == "__latest__" else [name]), verbosity=0)
"""


def copy_shop(destination: Path) -> Path:
    """Copy the shop example to `destination` (so nothing is written into the checkout)."""
    shutil.copytree(SHOP, destination, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def _digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(SHOP.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(SHOP)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def shop_dump(server: Server, python: str, lines: int, pg_dump: str, project: Path) -> tuple[Path, float]:
    """Return a cached or newly built dump of the shop with `lines` order lines and its database's MB."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"shop-{lines}-pg{server.info.major}-{_digest()}.dump"
    size_file = path.with_suffix(".mb")
    if path.exists() and size_file.exists():
        return path, float(size_file.read_text())
    config = yaml.safe_load((project / "demo" / "demo.yml").read_text())
    database = server.create_database("shop")
    env = {**os.environ, "DATABASE_URL": server.info.url(database), "DJANGO_SETTINGS_MODULE": SHOP_SETTINGS}
    subprocess.run([python, "-c", BASELINE, *config["baseline"]], env=env, cwd=project, check=True)
    with server.connect(database) as conn:
        conn.execute("SELECT set_config('preflight.demo_lines', %s, false)", (str(lines),))
        conn.execute((project / "demo" / config["seed"]).read_bytes())
        conn.execute("ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    partial = path.with_suffix(f".{os.getpid()}.partial")
    client = {**os.environ, **server.info.client_env()}
    subprocess.run([pg_dump, "-Fc", "-f", str(partial), "-d", database], env=client, check=True)
    server.drop_database(database)
    partial.rename(path)  # atomic: a concurrent run sees the whole dump or none
    megabytes = round((size[0] if size else 0) / 1e6, 1)
    size_file.write_text(str(megabytes))
    return path, megabytes


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def machine(python: str, server: Server) -> dict[str, str]:
    """Describe where the numbers were measured."""
    memory = _first("/proc/meminfo", "MemTotal")
    if memory != "unknown":
        memory = f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB"
    django = subprocess.run(
        [python, "-c", "import django; print(django.get_version())"], capture_output=True, text=True
    ).stdout.strip()
    python_version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
    ).stdout.strip()
    with server.connect() as conn:
        row = conn.execute("SHOW server_version").fetchone()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "CPU": f"{os.cpu_count()} x {_first('/proc/cpuinfo', 'model name')}",
        "RAM": memory,
        "OS": f"{_first('/etc/os-release', 'PRETTY_NAME')}, Linux {platform.release()}",
        "Python": f"{python_version} ({python})",
        "PostgreSQL": row[0] if row else "unknown",
        "Django": django or "not installed",
        "load average at start": f"{load[0]:.1f} (1 min), {load[1]:.1f} (5 min)",
    }
