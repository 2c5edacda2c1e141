# The project's own top-level module named `probe`: Preflight must not shadow it.
OURS = "the project's probe"
