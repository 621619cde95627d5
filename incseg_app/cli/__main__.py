"""``python -m incseg_app.cli``: the ``incseg`` command (how the web UI starts a job's child process)."""
from . import main

main()
