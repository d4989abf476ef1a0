"""Background Stylizer — the page. Widgets, layout and session state only; every image, figure and
timing comes from the ``stylize`` library. Run with: streamlit run app.py"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace

import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from stylize import MASK_MODES, InputError, Result, Settings, Style, StylizeError, StylizeOptions, Stylizer
from stylize.compare import REFERENCE, compare_variants
from stylize.engine import ENGINE_TITLES
from stylize.imaging import fit_within, jpeg_bytes
from stylize.pipeline import STAGES
from stylize.webcam import WEBCAM_OPTIONS, LiveStylizer

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]
MASK_LABELS = {"full": "Whole picture", "background": "Background only (keep the person)", "foreground": "Person only"}
SHOWN_WIDTH = 520  # pixels on screen for a photo; the download keeps the full size

st.set_page_config(page_title="Background Stylizer", layout="wide")
log = logging.getLogger("stylize.page")


@st.cache_resource(show_spinner=False)
def shared_stylizer() -> Stylizer:
    """One stylizer (models, caches) for every visitor; its models serialise their own runs."""
    return Stylizer.from_settings(Settings.from_env())


@st.cache_resource(show_spinner=False)
def ice_servers() -> list[dict]:
    return [{"urls": [url]} for url in Settings.from_env().ice_servers]


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail(_stylizer: Stylizer, name: str) -> bytes:
    """A small JPEG of a gallery style, encoded once for every visitor."""
    return jpeg_bytes(fit_within(_stylizer.style(name).pixels, 160))


def for_visitor(exc: StylizeError) -> str:
    """What a visitor reads: the library's sentence when it is about their own input; otherwise
    a plain one, with the detail (paths, model files, store names) kept for the server's log."""
    if isinstance(exc, InputError):
        return str(exc)
    log.error("%s: %s", type(exc).__name__, exc)
    return "Something went wrong on our side while painting; please try again, or pick another model variant."


def start(stylizer: Stylizer) -> None:
    """Fetch the models with a progress bar the first time (visitors arriving together share one
    fetch); stop the page with one message if the store can't be read."""
    if stylizer.ready:
        return
    job, total = stylizer.prepare_in_background()
    bar = st.progress(0.0, text="Fetching the models…")
    while not job.done():
        bar.progress(total.fraction, text=f"Fetching the models: {total.describe()}")
        time.sleep(0.1)
    bar.empty()
    try:
        job.result()
    except StylizeError as exc:
        log.error("The models could not be loaded: %s", exc)  # the whole sentence, for the operator
        st.error("The models are unavailable right now: the model store could not be read. Reload the page in a minute to try again.")
        st.stop()


def choose_style(stylizer: Stylizer) -> Style:
    st.header("Style")
    titles = [a.title for a in stylizer.gallery]
    st.session_state.setdefault("style", "Starry Night")
    title = st.selectbox("Gallery style", titles, key="style")
    own = st.file_uploader("…or your own style image", type=IMAGE_TYPES, key="own_style")
    if own is not None:
        try:
            return Style.from_bytes(own.getvalue(), name="upload", title=own.name)
        except StylizeError as exc:
            st.error(f"{for_visitor(exc)} Using {title} instead.")
    return stylizer.style(title)


def choose_options(stylizer: Stylizer) -> StylizeOptions:
    strength = st.slider("Style strength", 0.0, 1.0, 1.0, 0.05)
    st.header("What to paint")
    mask = st.radio("Paint", MASK_MODES, index=1, format_func=MASK_LABELS.get, key="mask")
    segmenters = {a.name: a for a in stylizer.assets("segment")}
    segmenter = st.selectbox("Segmentation model", list(segmenters), format_func=lambda n: segmenters[n].title, disabled=mask == "full", key="segmenter")
    st.header("Model variant")
    transfers = {a.name: a for a in stylizer.assets("transfer")}
    transfer = st.radio(
        "Transfer model", list(transfers), key="transfer", format_func=lambda n: f"{transfers[n].title.split('(')[-1].rstrip(')')} · {transfers[n].bytes / 1e6:.2f} MB"
    )
    engines = list(ENGINE_TITLES)
    st.session_state.setdefault("engine", stylizer.engine.name)
    engine = st.radio("Runtime", engines, key="engine", horizontal=True, format_func=ENGINE_TITLES.get)
    return StylizeOptions(transfer=transfer, segmenter=segmenter, mask=mask, strength=strength, engine=engine)


def show_gallery(stylizer: Stylizer) -> None:
    with st.expander("Style gallery — pick an artwork", expanded=False):
        columns = st.columns(7)
        for i, asset in enumerate(stylizer.gallery):
            with columns[i % 7]:
                st.image(thumbnail(stylizer, asset.name), caption=asset.title, width="stretch")
                st.button("Use", key=f"use-{asset.name}", on_click=st.session_state.__setitem__, args=("style", asset.title))


def photo_input(stylizer: Stylizer) -> tuple[str, bytes]:
    uploaded = st.file_uploader("Upload a photo (JPEG, PNG or WEBP)", type=IMAGE_TYPES, key="photo")
    if uploaded is not None:
        return uploaded.name, uploaded.getvalue()
    samples = {a.title: a for a in stylizer.assets("photo")}
    title = st.selectbox("…or try a sample photo", list(samples), key="sample")
    return title, stylizer.store.fetch(samples[title]).read_bytes()


def paint(stylizer: Stylizer, photo: bytes, style: Style, options: StylizeOptions) -> Result:
    """The result for this photo, style and options; kept per visitor so reruns don't repaint."""
    key = (hashlib.sha256(photo).hexdigest(), style.sha256, options)
    cached = st.session_state.get("painted")
    if cached and cached[0] == key:
        return cached[1]
    result = stylizer.stylize(photo, style, options)
    st.session_state["painted"] = (key, result)
    return result


def show_result(result: Result, photo_name: str) -> None:
    shown = min(SHOWN_WIDTH, result.image.shape[1])
    left, right, _ = st.columns([1, 1, 0.2])
    left.image(result.original, caption=f"Original · {photo_name}", width=shown, output_format="JPEG")
    right.image(result.image, caption=f"{result.style} · {MASK_LABELS[result.options.mask].lower()} · {result.options.transfer}", width=shown, output_format="JPEG")
    height, width = result.image.shape[:2]
    paint_w, paint_h = result.paint_size
    st.download_button("Download PNG", result.png, file_name="stylized.png", mime="image/png", key="download", on_click="ignore")
    st.caption(
        f"{width}×{height} px · {result.style} · {MASK_LABELS[result.options.mask].lower()} · {result.options.transfer} on {ENGINE_TITLES[result.engine]}, "
        f"painted at {paint_w}×{paint_h} · total {result.total_ms:.0f} ms · " + " · ".join(f"{s} {result.timings_ms[s]:.0f} ms" for s in STAGES)
    )


def show_comparison(stylizer: Stylizer, result: Result, style: Style) -> None:
    st.subheader("Compare model variants")
    st.write(
        f"Runs every transfer variant{' and every segmentation model' if result.options.mask != 'full' else ''} on each runtime "
        f"({', '.join(ENGINE_TITLES.values())}) on this photo and style, on this machine, interleaved. Fidelity is PSNR against the float reference "
        f"({REFERENCE['transfer']} transfer, {REFERENCE['segment']} segmentation, on {ENGINE_TITLES[REFERENCE['engine']]})."
    )
    runs = st.number_input("Runs per variant", min_value=1, max_value=20, value=5, key="runs")
    if st.button("Compare variants", key="compare", type="primary"):
        with st.spinner("Measuring every variant…"):
            st.session_state["comparison"] = compare_variants(stylizer, result.original, style, result.options, runs=int(runs))
    comparison = st.session_state.get("comparison")
    if comparison is None:
        return
    table = pd.DataFrame(comparison.rows())
    numbers, chart = st.columns([3, 2])
    numbers.dataframe(table.drop(columns=["kind", "model", "runtime"]), hide_index=True, width="stretch")
    chart.scatter_chart(table, x="size_mb", y="median_ms", color="variant", x_label="model file size (MB)", y_label="median latency (ms)", height=260)
    columns = st.columns(len(comparison.reports))
    for column, report in zip(columns, comparison.reports, strict=True):
        with column:
            st.image(report.image, width="stretch", output_format="JPEG")
            st.markdown(f"**{report.label}** ({report.precision})")
            fidelity = "float reference" if report.is_reference else "identical to reference" if report.psnr_db == float("inf") else f"{report.psnr_db:.1f} dB"
            st.caption(f"{report.file_bytes / 1e6:.2f} MB · {report.median_ms:.0f} ms median of {report.runs} · {fidelity}")


def photo_page(stylizer: Stylizer, style: Style, options: StylizeOptions) -> None:
    name, photo = photo_input(stylizer)
    try:
        result = paint(stylizer, photo, style, options)
    except StylizeError as exc:
        st.error(for_visitor(exc))
        return
    show_result(result, name)
    show_comparison(stylizer, result, style)


def webcam_page(stylizer: Stylizer, style: Style, options: StylizeOptions) -> None:
    options = replace(options, max_side=WEBCAM_OPTIONS.max_side)
    stylizer.warm_up(640, 480, options)  # the camera's frame size is compiled before the first frame (once per process)
    live = st.session_state.get("live")
    if live is None:
        live = st.session_state["live"] = LiveStylizer(stylizer, style, options)
    live.configure(style, options)
    st.write("Press **Start** and allow the camera. Only the newest frame is painted; frames that arrive meanwhile are dropped, so the delay never grows.")
    figures = st.container()
    webrtc_streamer(
        key="webcam",
        mode=WebRtcMode.SENDRECV,
        queued_video_frames_callback=live,
        media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
        rtc_configuration={"iceServers": ice_servers()},
        async_processing=True,
        video_html_attrs={"autoPlay": True, "muted": True, "style": {"width": "640px", "maxWidth": "100%"}},
    )
    with figures:
        live_figures(live)


@st.fragment(run_every=1.0)
def live_figures(live: LiveStylizer) -> None:
    stats = live.stats()
    a, b, c, d = st.columns(4)
    a.metric("Frames painted", stats.processed)
    b.metric("Frames per second", f"{stats.fps:.1f}")
    c.metric("Latency per frame", f"{stats.median_ms:.0f} ms")
    d.metric("Stale frames dropped", stats.dropped)
    if stats.failure is not None:
        st.error(for_visitor(stats.failure))


def main() -> None:
    st.title("Background Stylizer")
    st.caption("Paint your photo — or only what's behind you — in the style of an artwork. Magenta arbitrary style transfer + person segmentation, on OpenVINO or LiteRT.")
    try:
        stylizer = shared_stylizer()
    except StylizeError as exc:
        log.error("The page is not configured correctly: %s", exc)
        st.error("The page is not configured correctly; the server's log says what to fix.")
        st.stop()
    start(stylizer)
    with st.sidebar:
        source = st.radio("Input", ["Photo", "Webcam"], horizontal=True, key="source")
        style = choose_style(stylizer)
        options = choose_options(stylizer)
    show_gallery(stylizer)
    if source == "Photo":
        photo_page(stylizer, style, options)
    else:
        webcam_page(stylizer, style, options)


main()
