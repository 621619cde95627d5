"""Use cases shared by the UI and the CLI. Every function takes an ``AppContext`` first, opens one
unit of work per call and raises domain errors. Never imports torch."""
from .context import AppContext, StoreSettings, open_store

__all__ = ["AppContext", "StoreSettings", "open_store"]
