"""Background Stylizer — the page. Widgets, layout and session state only; every image, figure and
timing comes from the ``stylize`` library. Served by serve.py: streamlit run serve.py

Sections live in ``page/`` (labels, session, controls, photo, compare, webcam); this file is the
frame that lays them out. The frame runs when the page opens; a visitor's choices rerun the
``studio`` fragment (controls and picture) and the sections that change on their own are
fragments inside it (see ``studio``).

Layout: one main column pair — the result first (so on a phone, where columns stack, the picture
comes before the controls, the painting beside the original on every screen), the controls beside it on a wide screen — and the variant comparison
below across the whole width. Nothing lives in the sidebar, so a phone reaches every control.
"""

from __future__ import annotations

import streamlit as st

# Something to read at once: the title goes out before the imports below (serve.py imports the
# heaviest at start-up; streamlit_webrtc must be imported by the page, which registers its component).
st.set_page_config(page_title="Background Stylizer", layout="wide", initial_sidebar_state="collapsed")
st.title("Background Stylizer")
st.caption("Paint your photo — or only what's behind you — in the style of an artwork. Magenta arbitrary style transfer and person segmentation, on OpenVINO or LiteRT.")

from page.compare import show_comparison  # noqa: E402
from page.controls import choose_options, choose_size, choose_style, photo_input  # noqa: E402
from page.photo import PICTURES_CSS, ResultView, paint, painted_already, photo_id, result_key  # noqa: E402
from page.session import for_visitor, log, models_unavailable, moved_here, preparing, shared_stylizer, upload_key  # noqa: E402
from page.state import state  # noqa: E402
from page.webcam import webcam_page  # noqa: E402
from stylize import StylizeError, Stylizer  # noqa: E402
from stylize.imaging import image_size  # noqa: E402
from stylize.preparation import Preparation  # noqa: E402


def main() -> None:
    st.html(PICTURES_CSS)
    try:
        stylizer = shared_stylizer()
    except StylizeError as exc:
        log.error("The page is not configured correctly: %s", exc, exc_info=exc)
        st.error("The page is not configured correctly; the server's log says what to fix.")
        st.stop()
    if moved_here():
        state().upload_round = 1
    if models_unavailable(stylizer):
        st.stop()
    _, progress = stylizer.prepare_in_background()
    studio(stylizer, progress)


@st.fragment
def studio(stylizer: Stylizer, progress: Preparation) -> None:
    """The controls and the picture, a fragment: a choice (a style, an option, a photo) reruns
    this, not the page's frame above it. Inside it, sections that change on their own are
    fragments of their own: the gallery (opening it reruns the gallery alone), the comparison (its
    button reruns the comparison alone; a new choice reruns it with the picture, and it removes a
    comparison of another choice), the webcam's figures and the start-up progress (on a timer)."""
    if state().upload_round and st.session_state.get(upload_key("photo")) is None:  # until they upload again (a rerun of this)
        st.info("This page lost its place on the server (the server was replaced, or the page was away for over two minutes), so your photo and choices were reset — please upload your photo again.", icon=":material/sync:")
    result_column, controls_column = st.columns([3, 2], gap="large")
    with controls_column:
        source = st.segmented_control("Input", ["Photo", "Webcam"], default="Photo", key="source") or "Photo"
        name, photo = photo_input(stylizer) if source == "Photo" else ("", None)
        style = choose_style(stylizer)
        options = choose_options(stylizer, webcam=source == "Webcam")
        photo_size = unreadable = None
        if photo is not None:
            try:
                photo_size = image_size(photo)
            except StylizeError as exc:
                unreadable, photo = for_visitor(exc), None
        photo_key = None if photo is None else photo_id(photo)  # the photo is hashed once a rerun
        if source == "Photo":
            options = choose_size(stylizer, options, photo_size, photo_key, photo)
        key = None if photo_key is None else result_key(photo_key, style, options)
    result = None
    with result_column:
        if unreadable is not None:  # where the picture would be, not down among the controls
            st.error(unreadable)
        elif not stylizer.ready:
            preparing(stylizer, progress)
        elif source == "Webcam":
            webcam_page(stylizer, style, options)
        elif photo is not None:
            view = ResultView()
            if not painted_already(key):
                view.painting()
            try:
                result = paint(stylizer, photo, style, options, key, view)
            except StylizeError as exc:
                view.failed(for_visitor(exc))
            else:
                view.show(result, name, photo_size)
    if result is not None:
        show_comparison(stylizer, result, style, key)

main()
