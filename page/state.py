"""One visitor's page state, typed: what the page remembers between reruns besides its widgets'
own values (which Streamlit keeps under their keys). Kept in ``st.session_state`` as one object,
so every section reads and writes named fields instead of string keys."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from stylize import Result
from stylize.compare import Comparison
from stylize.estimate import CostModel
from stylize.webcam import LiveStylizer

KEY = "page_state"


@dataclass
class PageState:
    painted: tuple[tuple, Result] | None = None  # (result_key, result): the picture on screen, not painted again on a rerun
    comparison: tuple[tuple, Comparison] | None = None  # (result_key it measured, the comparison)
    size_photo: str | None = None  # the photo (its id) whose size choice is remembered…
    size_choice: str | None = None  # …and that choice
    costs: CostModel = field(default_factory=CostModel)  # the size estimates' model, at the speed of this visitor's last painting
    live: LiveStylizer | None = None  # the webcam's painter
    seen: bool = False  # set on a session's first run (a browser that reconnects to another process has no such mark)
    upload_round: int = 0  # bumped when a visitor was moved here: fresh uploaders
    gallery_chose: bool = False  # the gallery's Use was pressed: its fragment reruns the page's choices


def state() -> PageState:
    """This visitor's page state, made on first use."""
    if KEY not in st.session_state:
        st.session_state[KEY] = PageState()
    return st.session_state[KEY]
