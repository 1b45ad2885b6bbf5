# One image for every shop service, the orders worker and Locust.
#   docker build -t shoplab:0.1.0 .
#   docker run -e SERVICE=catalog -e PORT=8082 ... shoplab:0.1.0           # a service under gunicorn
#   docker run ... shoplab:0.1.0 python -m shop.orders.worker              # the orders worker
# SERVICE (build arg and run-time env) picks the service; docker-compose.yml sets it per container.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --- build: wheels for the project and exactly the dependencies pyproject.toml lists ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# README.md* : pyproject names it as the readme; the glob keeps the build working before it exists.
COPY pyproject.toml README.md* ./
COPY shop ./shop
COPY shoplab ./shoplab
COPY chaos ./chaos
COPY loadtests ./loadtests
COPY contracts ./contracts
# `.` is the project itself: its dependency list is pyproject.toml's, never a second copy.
RUN pip wheel --wheel-dir /wheels .

# --- runtime: slim, no compilers, no build context, non-root ---
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=gateway
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    SERVICE=${SERVICE} PORT=8080 SHOPLAB_DATA_DIR=/data
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels shoplab
# A fixed uid so named volumes (seeded from /data here) stay writable across rebuilds.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/shoplab shoplab \
    && mkdir -p /data /app \
    && chown shoplab:shoplab /data
WORKDIR /app
COPY --chown=shoplab:shoplab loadtests ./loadtests
USER shoplab
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=12 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ['PORT'], timeout=3)"
# One gthread worker with several threads: one breaker, bulkhead and metrics registry per service.
CMD ["sh", "-c", "exec gunicorn -k gthread --threads 8 -w 1 -b 0.0.0.0:${PORT} --timeout 60 --graceful-timeout 5 --keep-alive 5 --error-logfile - --log-level warning --limit-request-line 0 --limit-request-field_size 0 \"shop.${SERVICE}:create_app()\""]
