# The project's own top-level module named `runner`: Preflight must not shadow it.
OURS = "the project's runner"
