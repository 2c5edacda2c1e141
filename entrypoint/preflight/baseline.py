"""Check out the base code in a temporary git worktree, to migrate an empty database with it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import InfrastructureError, ProjectError, UsageError


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # In a container the checkout belongs to another uid; git would refuse it as "dubious".
    try:
        return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, capture_output=True, text=True)
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
def worktree(project_root: Path, ref: str) -> Iterator[Path]:
    """Yield the project's folder as it is at `ref`; remove the worktree afterwards."""
    base = resolve(project_root, ref)
    tmp = Path(tempfile.mkdtemp(prefix="preflight-base-"))
    checkout = tmp / "base"
    try:
        added = _git(["worktree", "add", "--detach", "--quiet", str(checkout), base.commit], base.repo)
        if added.returncode != 0:
            raise ProjectError(f"git worktree add failed: {added.stderr.strip()}", "check the repository is not locked")
        yield checkout / base.relative
    finally:
        _git(["worktree", "remove", "--force", str(checkout)], base.repo)
        shutil.rmtree(tmp, ignore_errors=True)
        _git(["worktree", "prune"], base.repo)
