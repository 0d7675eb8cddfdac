# syntax=docker/dockerfile:1
#
# One image for all three services; the command picks the role:
#   imgpipe gateway      (default)
#   imgpipe processor
#   imgpipe aggregator

# ---------------------------------------------------------------------------
# Builder: resolve and install the runtime dependencies into /opt/venv.
# ---------------------------------------------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Only pyproject.toml here, so this (slow) layer is rebuilt when the dependencies change, not on
# every source edit. The list is read from [project].dependencies, the single source of truth.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt

# Then the product itself (the services, the shared package and the `imgpipe` command; not
# devstack, bench or tests) into the same venv.
COPY README.md ./
COPY imgpipe ./imgpipe
COPY gateway ./gateway
COPY processors ./processors
COPY aggregator ./aggregator
COPY cli ./cli
RUN pip install --no-cache-dir --no-deps .

# ---------------------------------------------------------------------------
# Runtime: the venv (dependencies and the project), no compilers, no pip cache.
# ---------------------------------------------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 imgpipe \
    && useradd --system --uid 10001 --gid imgpipe --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin imgpipe

WORKDIR /app

# Root-owned: read-only for the service user.
COPY --from=builder /opt/venv /opt/venv

# The only writable paths: processed_images (the default IMGPIPE_STORAGE_URL, file://processed_images,
# relative to /app; docker-compose.yml stores in SeaweedFS instead) and .local (IMGPIPE_STATE_DIR:
# the Faust workers' data dirs). A volume mounted on /app/processed_images copies this ownership.
RUN mkdir -p /app/processed_images /app/.local \
    && chown imgpipe:imgpipe /app/processed_images /app/.local

USER imgpipe

EXPOSE 8000

CMD ["imgpipe", "gateway"]
