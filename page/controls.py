"""The controls: the photo, the style (gallery, own image, a second artwork), the options and the
result's size, each with what it costs."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from stylize import MASK_MODES, Style, StylizeError, StylizeOptions, Stylizer
from stylize.imaging import center_square, decode_size, jpeg_bytes, output_size
from stylize.pipeline import MAX_PAINT_SIDE
from stylize.steady import DEFAULT_STEADINESS
from stylize.webcam import WEBCAM_OPTIONS

from .labels import IMAGE_TYPES, MASK_TITLES, model_label, runtime_choices, runtime_key, runtime_title
from .session import for_visitor, upload_key
from .state import state

DEFAULT_SIZE = "1024"  # where a new photo starts
MAX_RADIO_CHOICES = 4  # more transfer models than this are offered in a select
SIZES = {"1024": 1024, "512": 512, "full": None}  # the result's long side
STROKES = {"Fine": None, "Medium": 768, "Coarse": 384}  # the long side the network paints at


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail(_stylizer: Stylizer, name: str) -> bytes:
    """A small square JPEG of a gallery style (all the same size, so the grid lines up)."""
    return jpeg_bytes(center_square(_stylizer.style(name).pixels, 160))


def choose_style(stylizer: Stylizer) -> str | Style:
    """The gallery style's title, or the visitor's own style image."""
    titles = [a.title for a in stylizer.gallery]
    st.session_state.setdefault("style", "Starry Night")
    own = st.session_state.get(upload_key("own_style"))
    st.selectbox("Style", titles, key="style", disabled=own is not None, help="Or upload your own style image below.")
    st.file_uploader("…or your own style image", type=IMAGE_TYPES, key=upload_key("own_style"))
    if own is not None:
        try:
            style = Style.from_bytes(own.getvalue(), name="upload", title=own.name)
            st.image(jpeg_bytes(center_square(style.pixels, 160)), caption=f"Your style: {own.name}", width=96)
            return style
        except StylizeError as exc:
            st.error(f"{for_visitor(exc)} Using {st.session_state['style']} instead.")
    if stylizer.ready:
        show_gallery(stylizer)
    return st.session_state["style"]


NO_MIX = "No second artwork"


def choose_mix(stylizer: Stylizer) -> tuple[str | None, float]:
    """A second artwork mixed into the first (its gallery title, or None), and how much of it."""
    titles = [a.title for a in stylizer.gallery]
    other = st.selectbox("Mix with a second artwork", [NO_MIX, *titles], key="mix_with", help="The two artworks' styles are blended before painting.")
    if other == NO_MIX:
        return None, 0.5
    mix = st.slider(f"Mix: how much {other}", 0.0, 1.0, 0.5, 0.05, key="mix", help="0 paints in the first artwork alone, 1 in the second alone.")
    return other, mix


GALLERY_LABEL = "Gallery of the artworks"
GALLERY_ROW = 4


@st.fragment
def show_gallery(stylizer: Stylizer) -> None:
    """The gallery, a fragment: opening or closing it reruns it alone; *Use* chooses the style and
    reruns the page's choices (``app.studio``) to paint it."""
    if state().gallery_chose:  # set by Use's callback, which cannot rerun more than this fragment itself
        state().gallery_chose = False
        st.rerun()
    current = st.session_state["style"]
    # Lazy: the 26 thumbnails, buttons and captions are made (and drawn by the browser, on every
    # rerun) only while the gallery is open; closed, it cost the browser a third of its work.
    # the label stays the same (one that changed with the style made a new expander, closed, after every Use)
    gallery = st.expander(GALLERY_LABEL, key="gallery", on_change="rerun")
    if not gallery.open:
        return
    with gallery, st.container(key="gallery-grid"):  # rows of four on every screen (GRID_CSS), in the Style select's order
        for start in range(0, len(stylizer.gallery), GALLERY_ROW):
            for column, asset in zip(st.columns(GALLERY_ROW), stylizer.gallery[start : start + GALLERY_ROW], strict=False):
                with column:
                    chosen = asset.title == current
                    st.image(thumbnail(stylizer, asset.name), width="stretch")
                    st.button(
                        "✓" if chosen else "Use",
                        key=f"use-{asset.name}",
                        help=f"{asset.title} (chosen)" if chosen else asset.title,
                        type="primary" if chosen else "secondary",
                        disabled=chosen,
                        width="stretch",
                        on_click=use_style,
                        args=(asset.title,),
                    )
                    st.caption(asset.title)


def use_style(title: str) -> None:
    st.session_state["style"] = title
    state().gallery_chose = True


def choose_options(stylizer: Stylizer, webcam: bool) -> StylizeOptions:
    defaults = stylizer.defaults(WEBCAM_OPTIONS if webcam else None)  # live video: the fast segmenter made for it; what this store has
    mix_with, mix = choose_mix(stylizer)
    strength = st.slider("Style strength", 0.0, 1.0, 1.0, 0.05, key="strength")
    keep_colors = st.toggle("Keep the photo's colours", key="keep_colors", help="The artwork gives the brightness and the brush strokes; your photo keeps its own colours.")
    mask = st.radio("What to paint", MASK_MODES, index=1, format_func=MASK_TITLES.get, key="mask")
    person_style, keep_faces = None, True
    if mask != "full":  # a person's own artwork only means something where the person is found
        keep = "Keep the person as they are" if mask == "background" else "Keep the background as it is"
        chosen = st.selectbox("Person's style", [keep, *(a.title for a in stylizer.gallery)], key=f"person_style_{mask}", help="Paint the person in another artwork than the background.")
        person_style = None if chosen == keep else chosen
        keep_faces = st.toggle(
            "Keep faces as they are" if mask == "foreground" and person_style is None else "Every face counts as the person",
            value=defaults.keep_faces,
            key="keep_faces",
            disabled=not stylizer.assets("face"),
            help="A face detector finds every face, and a face the person model missed is still kept with the person (or, painting the person only, left unpainted)."
            + ("" if stylizer.assets("face") else " This model store has no face detector."),
        ) and bool(stylizer.assets("face"))
    segmenters = [a.name for a in stylizer.assets("segment")]
    segmenter = st.selectbox(
        "Finding the person",
        segmenters,
        index=segmenters.index(defaults.segmenter) if defaults.segmenter in segmenters else 0,
        format_func=lambda n: model_label("segment", n),
        disabled=mask == "full",
        key="webcam_segmenter" if webcam else "segmenter",
    )
    transfers = {a.name: a for a in stylizer.assets("transfer")}
    names = list(transfers)
    index = names.index(defaults.transfer) if defaults.transfer in transfers else 0

    def transfer_label(name: str) -> str:
        return f"{model_label('transfer', name)} · {transfers[name].bytes / 1e6:.2f} MB"

    if len(names) <= MAX_RADIO_CHOICES:  # the shipped three, as buttons
        transfer = st.radio("Transfer model", names, index=index, key="transfer", horizontal=True, format_func=transfer_label)
    else:  # a store with the project's own builds (up to twelve): a list that opens, not half a screen of buttons
        transfer = st.selectbox("Transfer model", names, index=index, key="transfer", format_func=transfer_label)
    runtimes = runtime_choices(stylizer)
    st.session_state.setdefault("runtime", runtime_key(stylizer.engine.name, stylizer.precision_for(StylizeOptions(runtime=stylizer.engine.name))))
    runtime, precision = runtimes[st.radio("Runtime", list(runtimes), key="runtime", horizontal=True, format_func=runtime_title)]
    unavailable_note(stylizer)
    options = StylizeOptions(
        transfer=transfer,
        segmenter=segmenter,
        mask=mask,
        strength=strength,
        runtime=runtime,
        precision=precision,
        keep_colors=keep_colors,
        mix_with=mix_with,
        mix=mix,
        person_style=person_style,
        keep_faces=keep_faces,
    )
    if webcam:
        st.slider(
            "Steadiness",
            0.0,
            0.95,
            DEFAULT_STEADINESS,
            0.05,
            key="steadiness",
            help="Where the camera's picture is still, the painting is held still too, instead of redrawing its strokes on every frame's noise; moving parts are painted afresh. 0 is off.",
        )
        return replace(options, max_side=WEBCAM_OPTIONS.max_side)
    return options


def unavailable_note(stylizer: Stylizer) -> None:
    """What this model store could not give (a store that holds part of the manifest), in one line."""
    missing = stylizer.missing()
    if missing:
        names = ", ".join(model_label(a.role, a.name) if a.role in ("transfer", "segment", "face") else a.title for a, _ in missing)
        st.caption(f"Not in this model store, so not offered: {names}.", help="The page offers every model and photo the model store holds; the server's log says which files it lacked.")


def choose_size(stylizer: Stylizer, options: StylizeOptions, photo_size: tuple[int, int] | None, photo: str | None = None, data: bytes | None = None) -> StylizeOptions:
    """The result's size and the stroke size, each with what it costs (from the library's plan of
    that painting: whole or in tiles). The visitor's size stays chosen through every other change
    for the same ``photo`` (its id; ``data``: its bytes, for the size it is decoded at); a new photo
    starts at ``DEFAULT_SIZE`` (or its own size, when it is smaller)."""
    page = state()

    def seconds(key: str) -> float:
        sized = replace(options, max_side=SIZES[key])
        decoded = photo_size if data is None else decode_size(data, SIZES[key])
        if stylizer.ready:  # the plan reads the transfer network's file: not while the store is still being read
            return page.costs.seconds(decoded, stylizer.plan(sized, *photo_size))
        size = output_size(*photo_size, SIZES[key])
        return page.costs.seconds_at(decoded, size, size, max(size) > MAX_PAINT_SIDE[options.runtime or "openvino"])

    def label(key: str) -> str:  # fixed for a photo: a widget whose options change starts afresh
        if photo_size is None:
            return {"1024": "1024 px", "512": "512 px", "full": "Full size"}[key]
        width, height = output_size(*photo_size, SIZES[key])
        return f"{'Full size ' if key == 'full' else ''}{width}×{height}"

    choices = list(SIZES)
    if photo_size is not None:  # only the sizes that differ: a 640 px photo has no "1024" of its own
        distinct = {}
        for key in reversed(choices):
            distinct.setdefault(output_size(*photo_size, SIZES[key]), key)
        choices = [k for k in choices if k in distinct.values()]
    chosen = page.size_choice if page.size_photo == photo else None
    if chosen not in choices:
        chosen = DEFAULT_SIZE if DEFAULT_SIZE in choices else "full"
    # one widget per photo: its choice survives every other change; a new photo starts at the default
    size = st.radio("Result size", choices, index=choices.index(chosen), format_func=label, horizontal=False, key=f"size-{(photo or 'none')[:16]}")
    page.size_photo, page.size_choice = photo, size
    if photo_size is not None and len(choices) > 1:
        st.caption(" · ".join(f"{label(k).removeprefix('Full size ')} ≈{seconds(k):.1f} s" for k in choices))
    strokes = st.radio(
        "Stroke size",
        list(STROKES),
        key="strokes",
        horizontal=True,
        help="The network paints at the result's size (fine), at 768 px (medium) or 384 px (coarse) and the painting is scaled to the result: fewer pixels, bigger brush strokes.",
    )
    if photo_size is not None and strokes == "Medium" and max(output_size(*photo_size, SIZES[size])) <= STROKES["Medium"]:
        st.caption(f"At this size Medium paints as Fine: the result is at most {STROKES['Medium']} px, the size Medium paints at.")
    return replace(options, max_side=SIZES[size], paint_side=STROKES[strokes])


def photo_input(stylizer: Stylizer) -> tuple[str, bytes | None]:
    uploaded = st.file_uploader("Your photo (JPEG, PNG or WEBP)", type=IMAGE_TYPES, key=upload_key("photo"))
    if uploaded is not None:
        return uploaded.name, uploaded.getvalue()
    samples = {a.title: a for a in stylizer.assets("photo")}
    if not samples:
        st.caption("This model store has no sample photos: upload one of yours.")
        return "", None
    title = st.selectbox("…or a sample photo", list(samples), key="sample")
    if not stylizer.ready or title not in samples:
        return title, None
    return title, stylizer.store.fetch(samples[title]).read_bytes()
