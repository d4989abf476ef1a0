"""Background Stylizer — the page. Widgets, layout and session state only; every image, figure and
timing comes from the ``stylize`` library. Served by serve.py: streamlit run serve.py

Layout: one main column pair — the result first (so on a phone, where columns stack, the picture
comes before the controls), the controls beside it on a wide screen — and the variant comparison
below across the whole width. Nothing lives in the sidebar, so a phone reaches every control.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import replace

import streamlit as st

# Something to read at once: the title goes out before the imports below (serve.py imports the
# heaviest at start-up; streamlit_webrtc must be imported by the page, which registers its component).
st.set_page_config(page_title="Background Stylizer", layout="wide", initial_sidebar_state="collapsed")
st.title("Background Stylizer")
st.caption("Paint your photo — or only what's behind you — in the style of an artwork. Magenta arbitrary style transfer and person segmentation, on OpenVINO or LiteRT.")

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402
from streamlit_webrtc import WebRtcMode, webrtc_streamer  # noqa: E402

from stylize import MASK_MODES, InputError, Result, Settings, Style, StylizeError, StylizeOptions, Stylizer  # noqa: E402
from stylize.compare import Comparison, compare_variants, reference_for  # noqa: E402
from stylize.engine import ENGINE_TITLES, F32, PRECISION_TITLES  # noqa: E402
from stylize.imaging import center_square, image_size, jpeg_bytes, output_size  # noqa: E402
from stylize.pipeline import Preparation  # noqa: E402
from stylize.steady import DEFAULT_STEADINESS  # noqa: E402
from stylize.webcam import WEBCAM_OPTIONS, LiveStylizer  # noqa: E402

IMAGE_TYPES = ["jpg", "jpeg", "png", "webp"]
MASK_LABELS = {"full": "Whole picture", "background": "Background only (keep the person)", "foreground": "Person only"}
VARIANT_LABELS = {
    "int8": "int8",
    "fp16": "float16",
    "dynamic": "dynamic-range int8",
    # made by python -m stylize convert, shown when the store has them
    "fp32": "float32 (rebuilt)",
    "dynamic-aeq": "dynamic-range int8 (ours)",
    "fp16-aeq": "float16 (ours)",
    "int8-full": "full-integer int8 (ours)",
}
PRECISION_LABELS = {"int8": "int8", "fp16": "float16", "dynamic": "int8 weights", "fp32": "float32", "int16x8": "int16 × int8"}
SEGMENTER_LABELS = {
    "selfie": "MediaPipe selfie",
    "selfie-landscape": "MediaPipe selfie, landscape (video)",
    "deeplabv3": "DeepLabV3",
    "deeplabv3-gpu": "DeepLabV3, GPU build",
    "segm-lite": "Meet segm_lite",
}
SIZES = {"1024": 1024, "512": 512, "full": None}  # the result's long side
STROKES = {"Fine": None, "Medium": 768, "Coarse": 384}  # the long side the network paints at
DEFAULT_MS_PER_MEGAPIXEL = 330.0  # int8 on OpenVINO here, until this visitor's own result says better

log = logging.getLogger("stylize.page")


def runtime_key(engine: str, precision: str) -> str:
    """The Runtime choice's value: the engine, and the arithmetic where it is not float32."""
    return engine if precision == F32 else f"{engine}-{precision}"


def runtime_title(key: str) -> str:
    engine, _, precision = key.partition("-")
    return ENGINE_TITLES[engine] + (f" · {PRECISION_TITLES[precision]}" if precision else "")


def runtime_choices(stylizer: Stylizer) -> dict[str, tuple[str, str]]:
    """Runtime choice → (engine, inference precision): each engine in each precision it offers on
    this machine (bfloat16 on OpenVINO only where the CPU has it)."""
    return {runtime_key(engine, precision): (engine, precision) for engine in ENGINE_TITLES for precision in reversed(stylizer.precisions(engine))}


def shared_stylizer() -> Stylizer:
    """One stylizer (models, caches) for every visitor — the process's own, which serve.py
    prepares when the server starts; its models serialise their own runs."""
    return Stylizer.shared(Settings.from_env())


@st.cache_resource(show_spinner=False)
def ice_servers() -> list[dict]:
    return [{"urls": [url]} for url in Settings.from_env().ice_servers]


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail(_stylizer: Stylizer, name: str) -> bytes:
    """A small square JPEG of a gallery style (all the same size, so the grid lines up)."""
    return jpeg_bytes(center_square(_stylizer.style(name).pixels, 160))


def for_visitor(exc: StylizeError) -> str:
    """What a visitor reads: the library's sentence when it is about their own input; otherwise
    a plain one, with the detail (paths, model files, store names) kept for the server's log."""
    if isinstance(exc, InputError):
        return str(exc)
    log.error("%s: %s", type(exc).__name__, exc)
    return "Something went wrong on our side while painting; please try again, or pick another model variant."


# --- start-up ------------------------------------------------------------------------------------


def models_unavailable(stylizer: Stylizer) -> bool:
    """True (with the message shown) when the background preparation has failed; a reload tries again."""
    job, _ = stylizer.prepare_in_background()
    if not job.done() or job.exception() is None:
        return False
    log.error("The models could not be loaded: %s", job.exception())  # the whole sentence, for the operator
    st.error("The models are unavailable right now: the model store could not be read. Reload the page in a minute to try again.")
    return True


@st.fragment(run_every=0.5)
def preparing(stylizer: Stylizer, progress: Preparation) -> None:
    """A real progress bar (bytes fetched, models compiled, styles ready) while the visitor
    already chooses; the whole page reruns once the models are ready."""
    if stylizer.ready:
        st.rerun()
    st.progress(progress.fraction, text=f"Getting the painter ready — {progress.describe()}")
    st.caption("You can already choose a photo and a style; the picture appears as soon as the models are loaded.")


# --- a visitor moved between page processes -------------------------------------------------------


def moved_here() -> bool:
    """True on the first run of a session that the browser had opened before, on another page
    process or so long ago (server.disconnectedSessionTTL, 120 s) that this one has let it go.

    With several tasks behind the load balancer, a task that stops (scale-in, a new deployment,
    a crash) takes its visitors' sessions with it; the load balancer sends their browsers to
    another task, whose Streamlit starts a new session. The browser reconnects with its old
    session id as the third entry of the WebSocket's Sec-WebSocket-Protocol header; a fresh visit
    has none, and a reconnect to the same process within that time resumes the old session (with
    this mark set).
    """
    if st.session_state.get("session_mark"):
        return False
    st.session_state["session_mark"] = True
    protocols = [p.strip() for p in st.context.headers.get("Sec-Websocket-Protocol", "").split(",")]
    return len(protocols) >= 3 and bool(protocols[2])


def upload_key(name: str) -> str:
    """Uploaded files live in the process that received them: a visitor moved to another process
    gets fresh uploaders, not ones naming files this process never had."""
    round_ = st.session_state.get("upload_round", 0)
    return name if round_ == 0 else f"{name}-{round_}"


# --- controls --------------------------------------------------------------------------------------


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


def show_gallery(stylizer: Stylizer) -> None:
    current = st.session_state["style"]
    # Lazy: the 26 thumbnails, buttons and captions are made (and drawn by the browser, on every
    # rerun) only while the gallery is open; closed, it cost the browser a third of its work.
    gallery = st.expander(f"Gallery — now: {current}", key="gallery", on_change="rerun")
    if not gallery.open:
        return
    with gallery:
        columns = st.columns(4)
        for i, asset in enumerate(stylizer.gallery):
            with columns[i % 4]:
                chosen = asset.title == current
                st.image(thumbnail(stylizer, asset.name), width="stretch")
                st.button(
                    "✓ Chosen" if chosen else "Use",
                    key=f"use-{asset.name}",
                    help=asset.title,
                    type="primary" if chosen else "secondary",
                    disabled=chosen,
                    width="stretch",
                    on_click=st.session_state.__setitem__,
                    args=("style", asset.title),
                )
                st.caption(asset.title)


def choose_options(stylizer: Stylizer, webcam: bool) -> StylizeOptions:
    mix_with, mix = choose_mix(stylizer)
    strength = st.slider("Style strength", 0.0, 1.0, 1.0, 0.05, key="strength")
    keep_colors = st.toggle("Keep the photo's colours", key="keep_colors", help="The artwork gives the brightness and the brush strokes; your photo keeps its own colours.")
    mask = st.radio("What to paint", MASK_MODES, index=1, format_func=MASK_LABELS.get, key="mask")
    person_style, keep_faces = None, True
    if mask != "full":  # a person's own artwork only means something where the person is found
        keep = "Keep the person as they are" if mask == "background" else "Keep the background as it is"
        chosen = st.selectbox("Person's style", [keep, *(a.title for a in stylizer.gallery)], key=f"person_style_{mask}", help="Paint the person in another artwork than the background.")
        person_style = None if chosen == keep else chosen
        keep_faces = st.toggle(
            "Keep faces as they are" if mask == "foreground" and person_style is None else "Every face counts as the person",
            value=True,
            key="keep_faces",
            help="A face detector finds every face, and a face the person model missed is still kept with the person (or, painting the person only, left unpainted).",
        )
    segmenters = [a.name for a in stylizer.assets("segment")]
    default = WEBCAM_OPTIONS.segmenter if webcam else StylizeOptions.segmenter  # live video: the fast model made for it
    segmenter = st.selectbox(
        "Finding the person",
        segmenters,
        index=segmenters.index(default),
        format_func=lambda n: SEGMENTER_LABELS.get(n, n),
        disabled=mask == "full",
        key="webcam_segmenter" if webcam else "segmenter",
    )
    transfers = {a.name: a for a in stylizer.assets("transfer")}
    transfer = st.radio(
        "Transfer model",
        list(transfers),
        index=list(transfers).index(StylizeOptions.transfer) if StylizeOptions.transfer in transfers else 0,
        key="transfer",
        horizontal=True, format_func=lambda n: f"{VARIANT_LABELS.get(n, n)} · {transfers[n].bytes / 1e6:.2f} MB"
    )
    runtimes = runtime_choices(stylizer)
    st.session_state.setdefault("engine", runtime_key(stylizer.engine.name, stylizer.precision_for(StylizeOptions(engine=stylizer.engine.name))))
    engine, precision = runtimes[st.radio("Runtime", list(runtimes), key="engine", horizontal=True, format_func=runtime_title)]
    options = StylizeOptions(
        transfer=transfer,
        segmenter=segmenter,
        mask=mask,
        strength=strength,
        engine=engine,
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


def choose_size(options: StylizeOptions, photo_size: tuple[int, int] | None) -> StylizeOptions:
    """The result's size and the stroke size, each with what it costs."""
    rate = st.session_state.get("ms_per_megapixel", DEFAULT_MS_PER_MEGAPIXEL)

    def label(key: str) -> str:
        if photo_size is None:
            return {"1024": "1024 px", "512": "512 px", "full": "Full size"}[key]
        width, height = output_size(*photo_size, SIZES[key])
        return f"{'Full size ' if key == 'full' else ''}{width}×{height} · ≈{rate * width * height / 1e6 / 1000:.1f} s"

    choices = list(SIZES)
    if photo_size is not None:  # only the sizes that differ: a 640 px photo has no "1024" of its own
        distinct = {}
        for key in reversed(choices):
            distinct.setdefault(output_size(*photo_size, SIZES[key]), key)
        choices = [k for k in choices if k in distinct.values()]
    if st.session_state.get("size") not in choices:
        st.session_state["size"] = "1024" if "1024" in choices else "full"
    size = st.radio("Result size", choices, key="size", format_func=label, horizontal=False)
    strokes = st.radio(
        "Stroke size",
        list(STROKES),
        key="strokes",
        horizontal=True,
        help="The network paints at the result's size (fine), at 768 px (medium) or 384 px (coarse) and the painting is scaled to the result: fewer pixels, bigger brush strokes.",
    )
    return replace(options, max_side=SIZES[size], paint_side=STROKES[strokes])


def photo_input(stylizer: Stylizer) -> tuple[str, bytes | None]:
    uploaded = st.file_uploader("Your photo (JPEG, PNG or WEBP)", type=IMAGE_TYPES, key=upload_key("photo"))
    if uploaded is not None:
        return uploaded.name, uploaded.getvalue()
    samples = {a.title: a for a in stylizer.assets("photo")}
    title = st.selectbox("…or a sample photo", list(samples), key="sample")
    if not stylizer.ready:
        return title, None
    return title, stylizer.store.fetch(samples[title]).read_bytes()


# --- the photo ---------------------------------------------------------------------------------


def paint(stylizer: Stylizer, photo: bytes, style: str | Style, options: StylizeOptions) -> Result:
    """The result for this photo, style and options; kept per visitor so reruns don't repaint."""
    style_key = style.sha256 if isinstance(style, Style) else style
    key = (hashlib.sha256(photo).hexdigest(), style_key, options)
    cached = st.session_state.get("painted")
    if cached and cached[0] == key:
        return cached[1]
    result = stylizer.stylize(photo, style, options)
    st.session_state["ms_per_megapixel"] = result.total_ms / max(0.05, result.image.shape[0] * result.image.shape[1] / 1e6)
    st.session_state["painted"] = (key, result)
    return result


def describe(result: Result) -> str:
    height, width = result.image.shape[:2]
    paint_w, paint_h = result.paint_size
    options = result.options
    what = MASK_LABELS[options.mask].lower() if result.person_style is None else f"the person in {result.person_style}"
    if options.mask != "full":
        faces = len(result.faces)
        kept = "" if not faces else f", {faces} face{'s' if faces > 1 else ''} {'kept' if options.mask == 'background' or result.person_style else 'left unpainted'}"
        what += f" (found by {SEGMENTER_LABELS.get(options.segmenter, options.segmenter)}{kept})"
    colours = " · the photo's own colours" if options.keep_colors else ""
    return (
        f"{width}×{height} px · {result.style} · {what}{colours} · strength {options.strength:.2f} · "
        f"{VARIANT_LABELS.get(options.transfer, options.transfer)} on {runtime_title(runtime_key(result.engine, result.precision))}, painted at {paint_w}×{paint_h} · "
        f"total {result.total_ms:.0f} ms · " + " · ".join(f"{stage} {ms:.0f} ms" for stage, ms in result.stages)
    )


def show_result(result: Result, photo_name: str, photo_size: tuple[int, int]) -> None:
    painted, original = st.columns(2)
    person = "" if result.person_style is None else f" · the person in {result.person_style}"
    painted.image(result.image, caption=f"Painted · {result.style}{person}", width="stretch", output_format="JPEG")
    original.image(result.original, caption=f"Original · {photo_name}", width="stretch", output_format="JPEG")
    height, width = result.image.shape[:2]
    st.caption(describe(result))
    if (width, height) != photo_size:
        st.info(f"Your photo is {photo_size[0]}×{photo_size[1]}; this result is {width}×{height}. Choose *Full size* under Result size to paint it at its own size.")
    st.download_button(
        f"Download PNG ({width}×{height})", result.png, file_name=f"stylized-{width}x{height}.png", mime="image/png", key="download", on_click="ignore"
    )


# --- the comparison ----------------------------------------------------------------------------


def comparison_table(comparison: Comparison) -> pd.DataFrame:
    rows = []
    for r in comparison.reports:
        rows.append(
            {
                "Model": f"{'transfer' if r.kind == 'transfer' else 'segment'} · {VARIANT_LABELS.get(r.name, SEGMENTER_LABELS.get(r.name, r.name))}",
                "Runtime": runtime_title(runtime_key(r.engine, r.inference_precision)),
                "Precision": PRECISION_LABELS.get(r.precision, r.precision),
                "Size": r.file_bytes / 1e6,
                "Load": r.load_ms,
                "Median latency": r.median_ms,
                "Whole request": r.median_total_ms,
                "Memory": r.peak_rss_mb,
                "Fidelity": fidelity_text(r),
            }
        )
    return pd.DataFrame(rows)


def fidelity_text(report) -> str:
    """A transfer variant: PSNR against the float reference. A segmenter: its mask's agreement with
    the best mask (no PSNR against another segmenter means anything) and the worst face it keeps."""
    if report.kind == "segment":
        faces = "" if report.faces_kept is None else f" · faces {report.faces_kept:.0f} %"
        return f"mask {report.mask_agreement:.1f} %{faces}"
    if report.is_reference:
        return "float reference"
    return "identical" if report.psnr_db == float("inf") else f"{report.psnr_db:.1f} dB"


TABLE_COLUMNS = {
    "Fidelity": st.column_config.TextColumn(
        "Fidelity",
        help="Transfer: PSNR of the picture against the float reference (higher is closer). Segmentation: the mask's agreement with the "
        "MediaPipe selfie mask on LiteRT (intersection over union), and the share of the worst-kept face the segmenter keeps by itself "
        "(the page adds the faces a face detector finds).",
    ),
    "Size": st.column_config.NumberColumn("Size", format="%.2f MB", help="The model file"),
    "Load": st.column_config.NumberColumn("Load", format="%.0f ms", help="Reading and compiling the file, once per process"),
    "Median latency": st.column_config.NumberColumn("Median latency", format="%.0f ms", help="Of the stage this model runs"),
    "Whole request": st.column_config.NumberColumn("Whole request", format="%.0f ms"),
    "Memory": st.column_config.NumberColumn("Memory", format="%.0f MB", help="What loading it and its first run at this size added to the process"),
}


def latency_chart(table: pd.DataFrame, kind: str, title: str) -> alt.Chart:
    data = table[table["Model"].str.startswith(kind)].rename(columns={"Size": "size_mb", "Median latency": "median_ms"})
    data = data.assign(model=data["Model"].str.split(" · ").str[-1])
    return (
        alt.Chart(data, title=title)
        .mark_point(filled=True, size=140)
        .encode(
            x=alt.X("size_mb:Q", title="model file (MB)", scale=alt.Scale(domainMin=0, nice=True)),
            y=alt.Y("median_ms:Q", title="median latency (ms)", scale=alt.Scale(domainMin=0, nice=True)),
            color=alt.Color("Runtime:N", legend=alt.Legend(title="runtime")),
            shape=alt.Shape("model:N", legend=alt.Legend(title="model", labelLimit=200)),
            tooltip=[alt.Tooltip("Model:N"), alt.Tooltip("Runtime:N"), alt.Tooltip("size_mb:Q", title="MB", format=".2f"), alt.Tooltip("median_ms:Q", title="ms", format=".0f")],
        )
        .properties(height=240)
    )


def show_comparison(stylizer: Stylizer, result: Result, style: str | Style) -> None:
    st.subheader("Compare model variants")
    reference = reference_for(stylizer)
    st.write(
        f"Runs every transfer variant{' and every segmentation model' if result.options.mask != 'full' else ''} on both runtimes "
        f"({' and '.join(ENGINE_TITLES.values())}; each transfer variant in every arithmetic the runtime offers on this CPU) on this photo and style, here and now, interleaved. A transfer variant's fidelity is PSNR against the float reference "
        f"({VARIANT_LABELS[reference['transfer']]} transfer and {SEGMENTER_LABELS[reference['segment']]} on {ENGINE_TITLES[reference['engine']]}); higher is closer."
    )
    runs_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
    runs = runs_col.number_input("Runs per variant", min_value=1, max_value=20, value=3, key="runs")
    if button_col.button("Compare variants", key="compare", type="primary"):
        bar = st.progress(0.0, text="Measuring…")

        def progress(done: int, total: int, what: str) -> None:
            bar.progress(done / total, text=f"Measuring {what} — run {done} of {total}")

        st.session_state["comparison"] = compare_variants(stylizer, result.original, style, result.options, runs=int(runs), progress=progress)
        bar.empty()
    comparison: Comparison | None = st.session_state.get("comparison")
    if comparison is None:
        return
    table = comparison_table(comparison)
    st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 3, column_config=TABLE_COLUMNS)
    transfer_chart, segment_chart = st.columns(2)
    transfer_chart.altair_chart(latency_chart(table, "transfer", "Transfer: latency against size"), width="stretch")
    if (table["Model"].str.startswith("segment")).any():
        segment_chart.altair_chart(latency_chart(table, "segment", "Segmentation: latency against size"), width="stretch")
    left, top, width, height = comparison.detail_box()
    st.markdown(f"**The same {width}×{height} pixels of each result, at 1:1** — where the variants differ most (from {left}, {top}).")
    crops = comparison.crops()
    per_row = 4
    for start in range(0, len(crops), per_row):
        for column, report, crop in zip(st.columns(per_row), comparison.reports[start : start + per_row], crops[start : start + per_row], strict=False):
            with column:
                st.image(crop, width=crop.shape[1], output_format="PNG")
                fidelity = fidelity_text(report)
                model = VARIANT_LABELS.get(report.name, SEGMENTER_LABELS.get(report.name, report.name))
                st.caption(f"**{report.kind} {model}** · {runtime_title(runtime_key(report.engine, report.inference_precision))} · {report.median_ms:.0f} ms · {fidelity}")


# --- the webcam ----------------------------------------------------------------------------------


def webcam_page(stylizer: Stylizer, style: str | Style, options: StylizeOptions) -> None:
    beside = st.toggle("Show the original beside the painting", value=True, key="beside")
    steadiness = st.session_state.get("steadiness", DEFAULT_STEADINESS)  # chosen with the other controls
    live: LiveStylizer | None = st.session_state.get("live")
    if live is None:
        live = st.session_state["live"] = LiveStylizer(stylizer, style, options, beside=beside, steadiness=steadiness)
    live.configure(style, options, beside=beside, steadiness=steadiness)
    st.caption("Press **Start** and allow the camera. Each frame is painted at 384 px; while one is being painted, newer frames replace the waiting one, so the picture stays live.")
    context = webrtc_streamer(
        key="webcam",
        mode=WebRtcMode.SENDRECV,
        queued_video_frames_callback=live,
        media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
        rtc_configuration={"iceServers": ice_servers()},
        async_processing=True,
        video_html_attrs={"autoPlay": True, "muted": True, "playsInline": True, "style": {"width": "100%"}},
    )
    # the camera's frame size is compiled (once per process) on a worker thread, so that switching
    # to the webcam draws at once instead of holding the photo's results greyed out meanwhile; a
    # frame that arrives sooner waits for the same build rather than starting another
    threading.Thread(target=stylizer.warm_up, args=(640, 480, options), name="stylize-webcam-warm-up", daemon=True).start()
    live_figures(live, context)


@st.fragment(run_every=1.0)
def live_figures(live: LiveStylizer, context) -> None:
    if not context.state.playing:
        live.reset()  # the figures start afresh with the next Start
        st.caption("The figures appear here while the camera runs.")
        return
    stats = live.stats()
    a, b, c, d = st.columns(4)
    a.metric("Frames per second", f"{stats.fps:.1f}")
    b.metric("Latency per frame", f"{stats.median_ms:.0f} ms")
    c.metric("Frames painted", stats.processed)
    d.metric("Skipped to keep up", stats.dropped, help="Normal: frames that arrived while another was being painted; only the newest is painted.")
    if stats.failure is not None:
        st.error(for_visitor(stats.failure))


# --- the page ------------------------------------------------------------------------------------


def main() -> None:
    try:
        stylizer = shared_stylizer()
    except StylizeError as exc:
        log.error("The page is not configured correctly: %s", exc)
        st.error("The page is not configured correctly; the server's log says what to fix.")
        st.stop()
    if moved_here():
        st.session_state["upload_round"] = 1
    if st.session_state.get("upload_round") and st.session_state.get(upload_key("photo")) is None:  # until they upload again
        st.info("This page lost its place on the server (the server was replaced, or the page was away for over two minutes), so your photo and choices were reset — please upload your photo again.", icon=":material/sync:")
    if models_unavailable(stylizer):
        st.stop()
    _, progress = stylizer.prepare_in_background()

    result_column, controls_column = st.columns([3, 2], gap="large")
    with controls_column:
        source = st.segmented_control("Input", ["Photo", "Webcam"], default="Photo", key="source") or "Photo"
        name, photo = photo_input(stylizer) if source == "Photo" else ("", None)
        style = choose_style(stylizer)
        options = choose_options(stylizer, webcam=source == "Webcam")
        photo_size = None
        if photo is not None:
            try:
                photo_size = image_size(photo)
            except StylizeError as exc:
                st.error(for_visitor(exc))
                photo = None
        if source == "Photo":
            options = choose_size(options, photo_size)
    result = None
    with result_column:
        if not stylizer.ready:
            preparing(stylizer, progress)
        elif source == "Webcam":
            webcam_page(stylizer, style, options)
        elif photo is not None:
            try:
                result = paint(stylizer, photo, style, options)
            except StylizeError as exc:
                st.error(for_visitor(exc))
            else:
                show_result(result, name, photo_size)
    if result is not None:
        show_comparison(stylizer, result, style)


main()
