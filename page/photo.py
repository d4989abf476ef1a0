"""The photo: painted once per choice (kept per visitor, so reruns don't repaint), shown beside the
original with a caption naming every choice and stage, and offered for download."""

from __future__ import annotations

import dataclasses
import hashlib

import streamlit as st

from stylize import Result, Style, StylizeOptions, Stylizer
from stylize.imaging import decode_size, fit_within

from .labels import MASK_TITLES, model_label, runtime_key, runtime_title
from .state import state


def photo_id(photo: bytes) -> str:
    """What identifies a photo across reruns (the same bytes, whatever their file name)."""
    return hashlib.sha256(photo).hexdigest()


def result_key(photo: str, style: str | Style, options: StylizeOptions) -> tuple:
    """What identifies a result: the photo (its ``photo_id``), the style and every option. A
    comparison is tied to it."""
    return (photo, style.sha256 if isinstance(style, Style) else style, options)


def painted_already(key: tuple) -> bool:
    cached = state().painted
    return bool(cached) and cached[0] == key


def paint(stylizer: Stylizer, photo: bytes, style: str | Style, options: StylizeOptions, key: tuple, view: ResultView | None = None) -> Result:
    """The result for this photo, style and options (``key``: their ``result_key``); kept per
    visitor so reruns don't repaint. A picture painted in tiles shows its progress in ``view``,
    and one waiting for the server's memory its place in the queue."""
    page = state()
    cached = page.painted
    if cached and cached[0] == key:
        return cached[1]
    result = stylizer.stylize(photo, style, options, progress=None if view is None else view.tile_painted, waiting=None if view is None else view.queued)
    page.costs = page.costs.learned(decode_size(photo, options.max_side), result)  # the next size estimates run at this painting's speed
    # kept for the session: the page never reads the mask (160 MB at 40 MP), and shows the original
    # at most DISPLAY_SIDE px (the comparison paints at 640): a 12 MP one is 36 MB a visitor
    result = dataclasses.replace(result, keep_weight=None, original=fit_within(result.original, DISPLAY_SIDE))
    page.painted = (key, result)
    return result


DISPLAY_SIDE = 2048  # the longest side a picture is shown at on the page

ALONGSIDE = {"segment": " (while painting)"}  # stages that run beside the painting (not one in tiles): the total is less than their sum


def describe(result: Result) -> str:
    height, width = result.image.shape[:2]
    paint_w, paint_h = result.paint_size
    tiles = f" in {result.tiles} tiles" if result.tiles > 1 else ""
    options = result.options
    what = MASK_TITLES[options.mask].lower() if result.person_style is None else f"the person in {result.person_style}"
    if options.mask != "full":
        faces = len(result.faces)
        kept = "" if not faces else f", {faces} face{'s' if faces > 1 else ''} {'kept' if options.mask == 'background' or result.person_style else 'left unpainted'}"
        what += f" (found by {model_label('segment', options.segmenter)}{kept})"
    colours = " · the photo's own colours" if options.keep_colors else ""
    return (
        f"{width}×{height} px · {result.style} · {what}{colours} · strength {options.strength:.2f} · "
        f"{model_label('transfer', options.transfer)} on {runtime_title(runtime_key(result.runtime, result.precision))}, painted at {paint_w}×{paint_h}{tiles} · "
        f"total {result.total_ms:.0f} ms · " + " · ".join(f"{stage} {ms:.0f} ms{'' if result.tiles else ALONGSIDE.get(stage, '')}" for stage, ms in result.stages)
    )


PICTURES_CSS = """<style>
.st-key-pictures [data-testid="stHorizontalBlock"], .st-key-gallery-grid [data-testid="stHorizontalBlock"] { flex-wrap: nowrap; }
.st-key-pictures [data-testid="stColumn"], .st-key-gallery-grid [data-testid="stColumn"] { min-width: 0; flex: 1 1 0; width: auto; }
.st-key-gallery-grid [data-testid="stCaptionContainer"] { overflow-wrap: anywhere; }
</style>"""  # columns that stay side by side on a phone: the two pictures, and the gallery's rows (a title
# longer than a phone's column, "Composition", is broken, not cut)


class ResultView:
    """The result's places on the page, made before anything is painted. Streamlit replaces an
    element when a rerun writes the same place and leaves the previous run's elements on screen
    until then, so the caption and the download of the previous picture are replaced at once —
    by "Painting…" and a disabled button — while the previous pictures stay in view; nothing can
    hand over a file other than the picture and caption on screen."""

    def __init__(self) -> None:
        # side by side on every screen (see PICTURES_CSS): stacked on a phone, the two pictures
        # pushed every control two screens down
        self.painted, self.original = st.container(key="pictures").columns(2)
        self.caption, self.note, self.download = st.empty(), st.empty(), st.empty()

    def painting(self) -> None:
        self.caption.caption("Painting your choice…")
        self.note.empty()
        self.download.button("Download PNG (painting…)", disabled=True, key="download-pending")

    def queued(self, ahead: int) -> None:
        """The server is painting other visitors' large pictures: this one waits its turn."""
        self.caption.caption(f"Queued behind {ahead} painting{'s' if ahead != 1 else ''} — yours starts as soon as the server has room for it.")

    def tile_painted(self, done: int, total: int) -> None:
        """A large picture is painted in tiles: how far it has come."""
        if done == 1 or done == total or done % max(1, total // 50) == 0:
            self.caption.progress(done / total, text=f"Painting at full size, in tiles: {100 * done // total} %")

    def failed(self, message: str) -> None:
        self.caption.error(message)
        self.note.empty()
        self.download.empty()

    def show(self, result: Result, photo_name: str, photo_size: tuple[int, int]) -> None:
        person = "" if result.person_style is None else f" · the person in {result.person_style}"
        # shown at most DISPLAY_SIDE px (no screen shows a 12 MP picture at half a page's width;
        # encoding and sending it cost the server memory and a phone seconds); the download is full size
        self.painted.image(fit_within(result.image, DISPLAY_SIDE), caption=f"Painted · {result.style}{person}", width="stretch", output_format="JPEG")
        self.original.image(fit_within(result.original, DISPLAY_SIDE), caption=f"Original · {photo_name}", width="stretch", output_format="JPEG")
        height, width = result.image.shape[:2]
        self.caption.caption(describe(result))
        if (width, height) != photo_size:
            self.note.info(f"Your photo is {photo_size[0]}×{photo_size[1]}; this result is {width}×{height}. Choose *Full size* under Result size to paint it at its own size.")
        else:
            self.note.empty()
        # the PNG is encoded when the button is pressed (on a thread of its own), not before the
        # picture is shown: a 12 MP one takes seconds; the function is this result's, so the file
        # is always the picture on screen
        self.download.download_button(
            f"Download PNG ({width}×{height})", lambda: result.png, file_name=f"stylized-{width}x{height}.png", mime="image/png", key="download", on_click="ignore"
        )
