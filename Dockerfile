# syntax=docker/dockerfile:1.7
#
# Holo Tutor Hub images. Targets:
#   app       (default)  the ASGI service: `holo-tutor` (uvicorn + Socket.IO), serving the built web app
#   operator             the TURN operator: `python -m holo_operator` (kopf)
#   dev                  `app` plus the sources and Node, for `skaffold dev` (file sync, reload)
#
#   docker build -t holo-tutor .                                  # the app
#   docker build -t holo-tutor-operator --target operator .
#
# Expected size (linux/amd64): app about 290 MB unpacked / 95 MB compressed: python:3.11-slim
# is ~125 MB and the virtualenv ~160 MB (measured with pip for pyproject's dependencies: botocore
# 28 MB, pip 17 MB, cryptography 16 MB, uvloop 14 MB, swagger-ui 8 MB, aiohttp 8 MB, ...), plus
# the built web app (a few MB). operator: the same dependencies + kopf, about 300 MB. dev: about
# 480 MB (Node).
# No compiler, no build tools and no Node in app or operator.

ARG PYTHON_IMAGE=docker.io/library/python:3.11.11-slim-bookworm
ARG NODE_IMAGE=docker.io/library/node:20.18.1-bookworm-slim

# ---------------------------------------------------------------------------------------------
# The web app: `npm ci && npm run build` -> /src/frontend/dist
FROM ${NODE_IMAGE} AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Python dependencies in a virtualenv, from pyproject.toml alone, so that editing sources does
# not reinstall them. Each image then adds a wheel of only its own sources (one distribution,
# packages found where they are): an edit to app/ or frontend/ does not rebuild the operator,
# and an edit to the operator does not rebuild the app (skaffold dev rebuilds only what changed).
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt

# The app: app/ and the TURN code it shares with the operator.
FROM deps AS venv
COPY README.md ./
COPY app/ app/
COPY operator/holo_turn/ operator/holo_turn/
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --no-deps /wheels/*.whl \
 && cd / && python -c "import app.main, app.cli"

# The operator: kopf, and operator/ (holo_operator and holo_turn), no app/.
FROM deps AS venv-operator
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['operator']))" > operator-requirements.txt \
 && pip install -r operator-requirements.txt
COPY README.md ./
COPY operator/ operator/
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --no-deps /wheels/*.whl \
 && cd / && python -c "import holo_operator.handlers"

# ---------------------------------------------------------------------------------------------
# Shared runtime base: slim Python, an unprivileged user, no build tools; espeak-ng is the
# offline voice used when no ElevenLabs key is set (about 10 MB with its data).
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 holo \
 && useradd --system --uid 10001 --gid holo --home-dir /app --no-create-home --shell /usr/sbin/nologin holo \
 && mkdir -p /app /var/lib/holo-tutor/media \
 && chown holo:holo /var/lib/holo-tutor/media
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app

# ---------------------------------------------------------------------------------------------
FROM runtime AS operator
COPY --from=venv-operator /opt/venv /opt/venv
ENV HOLO_OPERATOR_LIVENESS=http://0.0.0.0:8080/healthz \
    HOLO_OPERATOR_METRICS_PORT=9090
USER 10001:10001
EXPOSE 8080 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
CMD ["python", "-m", "holo_operator"]

# ---------------------------------------------------------------------------------------------
FROM runtime AS dev
COPY --from=venv /opt/venv /opt/venv
COPY --from=frontend /usr/local/bin/node /usr/local/bin/node
COPY --from=frontend /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
# Sources owned by the app user, so skaffold can sync app/**/*.py and frontend/src into them;
# PYTHONPATH puts them before the installed wheel.
COPY --chown=10001:10001 app/ /app/src/app/
COPY --chown=10001:10001 --from=frontend /src/frontend /app/frontend
ENV PYTHONPATH=/app/src \
    HOLO_HOST=0.0.0.0 \
    HOLO_PORT=8000 \
    HOLO_STATIC_DIR=/app/frontend/dist \
    HOLO_MEDIA_DIR=/var/lib/holo-tutor/media \
    HOME=/tmp
USER 10001:10001
EXPOSE 8000
# The web app rebuilds on each synced change; uvicorn reloads on each synced .py file.
CMD ["sh", "-c", "cd /app/frontend && npx vite build --watch --emptyOutDir & exec uvicorn --factory app.main:create_app --host 0.0.0.0 --port 8000 --reload --reload-dir /app/src/app"]

# ---------------------------------------------------------------------------------------------
# The default target: the app.
FROM runtime AS app
COPY --from=venv /opt/venv /opt/venv
COPY --from=frontend /src/frontend/dist /app/frontend/dist
ENV HOLO_HOST=0.0.0.0 \
    HOLO_PORT=8000 \
    HOLO_STATIC_DIR=/app/frontend/dist \
    HOLO_MEDIA_DIR=/var/lib/holo-tutor/media
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HOLO_PORT', '8000'), timeout=2)"]
CMD ["holo-tutor"]
