"""Check out the base code in a temporary git worktree, to migrate an empty database with it.

The worktree lives in a temp dir marked as this run's (`preflight-base-<host>-<pid>-...`)
and is registered with the watchdog, so a killed run leaves no worktree in the user's
repository; a later run removes the entries a dead run left there (ours only: never
`git worktree prune`, which would also drop the user's own stale worktrees).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from preflight import janitor
from preflight.errors import InfrastructureError, ProjectError, UsageError


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # In a container the checkout belongs to another uid; git would refuse it as "dubious".
    try:
        return subprocess.run(
            ["git", "-c", "safe.directory=*", *args], cwd=cwd, capture_output=True, text=True, **janitor.tied()
        )
    except FileNotFoundError:
        raise InfrastructureError("--base-ref needs git, and git is not installed", "install git") from None


@dataclass(frozen=True)
class BaseRef:
    """A --base-ref resolved: the repository, the commit, and the project's folder in it."""

    repo: Path
    commit: str
    relative: Path


def resolve(project_root: Path, ref: str) -> BaseRef:
    """Check that `ref` is a commit and that the project's folder exists in it (a few git calls)."""
    top = _git(["rev-parse", "--show-toplevel"], project_root)
    if top.returncode != 0:
        raise ProjectError(
            f"--base-ref needs a git checkout, and {project_root} is not in one",
            "run from a clone, or pass --target-dump/--target-url instead",
        )
    repo = Path(top.stdout.strip())
    relative = project_root.resolve().relative_to(repo.resolve())
    commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if commit.returncode != 0:
        raise UsageError(
            f"--base-ref {ref} is not a commit in {repo}",
            "fetch it first (git fetch origin main; in Actions use fetch-depth: 0)",
        )
    sha = commit.stdout.strip()
    spec = f"{sha}:{relative.as_posix()}" if relative.parts else f"{sha}:"
    if _git(["cat-file", "-t", spec], repo).stdout.strip() != "tree":
        raise UsageError(
            f"the project folder {relative.as_posix()} does not exist at --base-ref {ref} (commit {sha[:12]})",
            "pass a base ref that has it, or drop --base-ref to preview every migration from an empty database",
        )
    return BaseRef(repo, sha, relative)


@contextmanager
def worktree(project_root: Path, ref: str, log: Callable[[str], None] = lambda _: None) -> Iterator[Path]:
    """Yield the project's folder as it is at `ref`; remove the worktree afterwards."""
    base = resolve(project_root, ref)
    for line in sweep(base.repo):
        log(f"removed what a killed run left: {line}")
    with janitor.temp_dir("base") as tmp:
        checkout = tmp / "base"
        janitor.write_mark(tmp, worktree={"repo": str(base.repo), "path": str(checkout)})
        key = janitor.watch("worktree", repo=str(base.repo), path=str(checkout))
        try:
            added = _git(["worktree", "add", "--detach", "--quiet", str(checkout), base.commit], base.repo)
            if added.returncode != 0:
                raise ProjectError(
                    f"git worktree add failed: {added.stderr.strip()}", "check the repository is not locked"
                )
            yield checkout / base.relative
        finally:
            _git(["worktree", "remove", "--force", str(checkout)], base.repo)
            janitor.forget(key)


def sweep(repo: Path) -> list[str]:
    """Remove worktrees of `repo` that a dead run of this machine left; return a line for each.

    Ours by name (.../preflight-base-<this host>-<pid>-<random>/base); the owner is the
    mark in that temp dir, or, when the dir is gone too, the pid in its name.
    """
    listed = _git(["worktree", "list", "--porcelain"], repo)
    here = janitor.me()
    removed = []
    for line in listed.stdout.splitlines():
        path = Path(line.removeprefix("worktree "))
        match = re.fullmatch(rf"preflight-base-{here.host}-(\d+)-[0-9a-f]+", path.parent.name)
        if not line.startswith("worktree ") or path.name != "base" or not match:
            continue
        try:
            owner = janitor.Owner.parse((path.parent / janitor.MARKER).read_text())
        except OSError:
            owner = janitor.Owner(here.host, int(match.group(1)), None, here.scope)
        if owner is None or not owner.dead_here():
            continue
        if _git(["worktree", "remove", "--force", str(path)], repo).returncode == 0:
            removed.append(f"git worktree {path} (run {owner.pid})")
        janitor.remove_dir(path.parent)
    return removed
