"""The scheduled squash report: which apps to squash, what blocks it, what it saves.

In pipeline order: `pipeline` (throwaway server, the probe's history, every migration
from zero, the target's record) -> `analyse` (pure: blockers, ranges, candidates,
deletable replaced files) -> `model` (the records) -> `render` (Markdown, JSON).
"""
