"""Background Stylizer: paint a photo (or only its background) in an artwork's style.

The library behind the page and the CLI; it never imports streamlit.
"""

from .config import Settings
from .errors import InputError, ModelError, StoreError, StylizeError
from .options import MASK_MODES, StylizeOptions
from .pipeline import Stylizer
from .result import Result
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
