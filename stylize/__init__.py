"""Background Stylizer: paint a photo (or only its background) in an artwork's style.

The library behind the page and the CLI; it never imports streamlit.
"""

from .config import Settings
from .errors import InputError, ModelError, StoreError, StylizeError
from .pipeline import MASK_MODES, Result, StylizeOptions, Stylizer
from .styles import Style

__all__ = [
    "MASK_MODES",
    "InputError",
    "ModelError",
    "Result",
    "Settings",
    "StoreError",
    "Style",
    "StylizeError",
    "StylizeOptions",
    "Stylizer",
]
