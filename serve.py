"""How the page is served: Streamlit's own ASGI app (`st.App`) around app.py, with two additions.
Run with: streamlit run serve.py

- The models load when the server starts, before it accepts connections: a new task behind the
  load balancer passes its health check (and gets visitors) only once it can paint at once, and
  its first visitor does not wait for the models to compile.
- A boot screen: Streamlit's page is blank until its JavaScript (≈3 MB in dozens of modules) has
  loaded and the first script run has drawn something — about a second for a new visitor. The
  page's own title and one line are written into the HTML itself, so they show at the browser's
  first paint, and are removed the moment Streamlit draws the real title in the same place.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from concurrent import futures
from concurrent.futures import Future
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware

from stylize import Settings, StylizeError, StylizeOptions, Stylizer
from stylize.imaging import image_size

log = logging.getLogger("stylize.page")
STARTUP_WAIT_S = 60  # within the container health check's start period
PAGE_MODULES = ("pandas", "altair")  # app.py's heavy imports (streamlit_webrtc registers its component on import: the page imports it)

TITLE = "Background Stylizer"
BOOT_SCREEN = f"""<div id="stylize-boot" aria-hidden="true">
<h1>{TITLE}</h1>
<p>Paint your photo — or only what's behind you — in the style of an artwork.</p>
<p class="wait">Opening the page…</p>
</div>
<style>
#stylize-boot {{ position: fixed; inset: 0; z-index: 1; background: #fff; color: rgb(49, 51, 63);
  font-family: "Source Sans", "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; padding: 6rem 5rem; }}
#stylize-boot h1 {{ font-size: 2.75rem; font-weight: 700; line-height: 1.2; margin: 0 0 1px; padding: 1.25rem 0 1rem; }}
#stylize-boot p {{ margin: 0 0 0.5rem; font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); }}
#stylize-boot .wait {{ margin-top: 2rem; font-size: 1rem; }}
@media (max-width: 640px) {{ #stylize-boot {{ padding: 6rem 1rem; }} }}
</style>
<script>
new MutationObserver((_, observer) => {{
  if (document.querySelector("[data-testid=stHeading] h1")) {{
    document.getElementById("stylize-boot")?.remove();
    observer.disconnect();
  }}
}}).observe(document.documentElement, {{ childList: true, subtree: true }});
</script>
""".encode()


class BootScreen:
    """ASGI middleware: writes the boot screen into the page's HTML (GET / only)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in ("/", "/index.html"):
            await self.app(scope, receive, send)
            return
        # ask for the plain HTML (not gzip) so it can be edited, then send it on with its new length
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        start: dict | None = None
        body = bytearray()

        async def collect(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            html = bytes(body)
            headers = dict(start["headers"])
            if start["status"] == 200 and b"text/html" in headers.get(b"content-type", b"") and b"<body>" in html:
                html = html.replace(b"<body>", b"<body>" + BOOT_SCREEN, 1)
            out = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            out.append((b"content-length", str(len(html)).encode()))
            await send({**start, "headers": out})
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, collect)


def start_preparing() -> tuple[Stylizer, Future] | None:
    """The process's stylizer (the page's too), loading its models on a worker thread; a failure
    is logged, and the page (which shows visitors that the models are unavailable) tries again
    on a later visit."""
    try:
        stylizer = Stylizer.shared(Settings.from_env())
    except StylizeError as exc:
        log.error("The page is not configured correctly: %s", exc, exc_info=exc)
        return None
    job, _ = stylizer.prepare_in_background()
    job.add_done_callback(lambda done: done.exception() and log.error("The models could not be loaded at start-up: %s", done.exception(), exc_info=done.exception()))
    return stylizer, job


@asynccontextmanager
async def lifespan(_app):
    """The server accepts connections — and its health check passes, so the load balancer sends
    visitors — once the models are ready, or have failed (every wait of the store is bounded),
    or after STARTUP_WAIT_S at most."""
    started = start_preparing()
    if started is not None:
        await asyncio.to_thread(ready_for_visitors, *started)
    yield


def ready_for_visitors(stylizer: Stylizer, job: Future) -> None:
    """Wait for the models; then do what the first visitor's first picture would otherwise wait
    for: import the page's own libraries and compile the transfer model for the size of the
    picture every visitor sees first (the first sample photo, default options)."""
    futures.wait([job], STARTUP_WAIT_S)
    if not job.done() or job.exception() is not None:
        return
    for module in PAGE_MODULES:
        importlib.import_module(module)
    try:
        sample = stylizer.store.fetch(stylizer.assets("photo")[0]).read_bytes()
        stylizer.warm_up(*image_size(sample), StylizeOptions())
    except (StylizeError, IndexError) as exc:  # the page will say what is wrong; start anyway
        log.error("Could not warm up for the first visitor: %s", exc, exc_info=exc)


app = st.App("app.py", lifespan=lifespan, middleware=[Middleware(BootScreen)])
