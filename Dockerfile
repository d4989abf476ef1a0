# The Background Stylizer page. Runtime dependencies only (requirements.txt: no TensorFlow, no
# test tools); runs as a non-root user; fetches its models from STYLIZE_MODEL_STORE at start-up.
FROM python:3.11-slim

# MALLOC_ARENA_MAX: each visitor's session is a thread; glibc's default of up to 8 heaps a core
# keeps what each thread freed of a large painting (measured: ≈200 MB more at the peak of four
# 12 MP paintings), two heaps reuse it
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PIP_NO_CACHE_DIR=1 \
    STYLIZE_CACHE_DIR=/home/app/.cache/stylize

RUN useradd --create-home --uid 10001 app
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-compile -r requirements.txt

COPY --chown=app:app app.py serve.py ./
COPY --chown=app:app page ./page
COPY --chown=app:app stylize ./stylize
COPY --chown=app:app models/manifest.toml ./models/manifest.toml
COPY --chown=app:app .streamlit ./.streamlit

USER app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=3)"]

# Fetch (and verify) every model before the page accepts visitors. The fetch's waits are bounded
# (STYLIZE_FETCH_DEADLINE, 25 s an asset): a store that can't be reached is logged in one line and
# the page is served anyway, showing visitors that the models are unavailable and trying again on
# the next visit — the health check passes, so the service does not restart in a loop.
CMD ["sh", "-c", "python -m stylize fetch || echo 'models unavailable at start-up; serving the page, which tries again'; exec streamlit run serve.py --server.port=8501 --server.address=0.0.0.0"]
