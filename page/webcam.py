"""The webcam: the browser's camera through WebRTC, each frame painted by a ``LiveStylizer``, and
its figures once a second."""

from __future__ import annotations

import threading

import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from stylize import Style, StylizeOptions, Stylizer
from stylize.steady import DEFAULT_STEADINESS
from stylize.webcam import LiveStylizer

from .session import for_visitor, ice_servers
from .state import state


def webcam_page(stylizer: Stylizer, style: str | Style, options: StylizeOptions) -> None:
    beside = st.toggle("Show the original beside the painting", value=True, key="beside")
    steadiness = st.session_state.get("steadiness", DEFAULT_STEADINESS)  # chosen with the other controls
    page = state()
    live = page.live
    if live is None:
        live = page.live = LiveStylizer(stylizer, style, options, beside=beside, steadiness=steadiness)
    live.configure(style, options, beside=beside, steadiness=steadiness)
    st.caption("Press **Start** and allow the camera. Each frame is painted at 384 px; while one is being painted, newer frames replace the waiting one, so the picture stays live.")
    context = webrtc_streamer(
        key="webcam",
        mode=WebRtcMode.SENDRECV,
        queued_video_frames_callback=live,
        media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
        rtc_configuration={"iceServers": ice_servers()},
        async_processing=True,
        # the painted frame's own shape from the first render (384×288, or twice as wide with the
        # original beside it): the component sizes its frame then, and a 4:3 camera picture before
        # the first painted frame left ≈240 px of empty space under the video
        video_html_attrs={"autoPlay": True, "muted": True, "playsInline": True, "style": {"width": "100%", "aspectRatio": "8 / 3" if beside else "4 / 3", "objectFit": "contain"}},
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
