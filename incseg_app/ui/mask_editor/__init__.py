"""The mask editor: a Gradio custom component (Svelte/canvas frontend in ``frontend/``, built into
``templates/``). Only the component class is exported: the build tool builds every Component class it
finds in this module's namespace."""
from .component import MaskEditor

__all__ = ["MaskEditor"]
