"""``python -m incseg_app.ui``: serve the web UI (what ``incseg serve`` runs)."""
from .server import main

main()
