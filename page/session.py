"""The visitor's session: the process's one stylizer, the start-up screen, a visitor moved between
page processes, and errors as a visitor reads them."""

from __future__ import annotations

import logging

import streamlit as st

from stylize import InputError, Settings, StylizeError, Stylizer
from stylize.preparation import Preparation

from .state import state

log = logging.getLogger("stylize.page")


def shared_stylizer() -> Stylizer:
    """One stylizer (models, caches) for every visitor — the process's own, which serve.py
    prepares when the server starts; its models serialise their own runs."""
    return Stylizer.shared(Settings.from_env())


@st.cache_resource(show_spinner=False)
def ice_servers() -> list[dict]:
    return [{"urls": [url]} for url in Settings.from_env().ice_servers]


def for_visitor(exc: StylizeError) -> str:
    """What a visitor reads: the library's sentence when it is about their own input; otherwise
    a plain one, with the detail (paths, model files, store names) kept for the server's log."""
    if isinstance(exc, InputError):
        return str(exc)
    log.error("%s: %s", type(exc).__name__, exc, exc_info=exc)  # with its causes, for the operator
    return "Something went wrong on our side while painting; please try again, or pick another model variant."


def models_unavailable(stylizer: Stylizer) -> bool:
    """True (with the message shown) when the background preparation has failed; a reload tries again."""
    job, _ = stylizer.prepare_in_background()
    if not job.done() or job.exception() is None:
        return False
    log.error("The models could not be loaded: %s", job.exception(), exc_info=job.exception())  # the sentence and its causes, for the operator
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
    page = state()
    if page.seen:
        return False
    page.seen = True
    protocols = [p.strip() for p in st.context.headers.get("Sec-Websocket-Protocol", "").split(",")]
    return len(protocols) >= 3 and bool(protocols[2])


def upload_key(name: str) -> str:
    """Uploaded files live in the process that received them: a visitor moved to another process
    gets fresh uploaders, not ones naming files this process never had."""
    round_ = state().upload_round
    return name if round_ == 0 else f"{name}-{round_}"
