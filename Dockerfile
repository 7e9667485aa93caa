# The actor host: `beehive run`, configured by BEEHIVE_... variables alone: the modules
# (BEEHIVE_MODULES), the container that gives the actors their stores (BEEHIVE_CONTAINER), the
# broker. infra/bicep sets them in every container app; docs/how-to/azure-container-apps.md
# lists them.
#   az acr build -r ACR -t beehive:TAG .        (or: docker build -t beehive .)
# Build arguments: EXTRAS (the package extras installed: azure, for Service Bus and Storage,
# by default; rabbitmq,postgres on premises, for RabbitMQ and the PostgreSQL stores) and APP
# (samples, the only actor modules this context lets in, copied into /app). Your own
# application's image is built FROM this one, from your project: examples/azure-app/Dockerfile.
#
# Reproducible: the base image is pinned by digest; the build tools by
# infra/image/build-requirements.txt; every runtime dependency by infra/image/constraints.txt
# (written by infra/image/lock.py), also kept in the image for applications built on it.
# The digest is that of the tag in the comment below. To refresh it (a new Python patch, or
# Debian's security fixes), read the index digest of the tag and replace both:
#   docker buildx imagetools inspect python:3.11.11-slim-bookworm   (the "Digest:" line)
#   crane digest python:3.11.11-slim-bookworm

# python:3.11.11-slim-bookworm
ARG PYTHON_IMAGE=python@sha256:081075da77b2b55c23c088251026fb69a7b2bf92471e491ff5fd75c192fd38e5

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=azure
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY infra/image/ infra/image/
RUN pip install --no-cache-dir -r infra/image/build-requirements.txt
COPY pyproject.toml README.md LICENSE ./
COPY beehive/ beehive/
# The venv gets no pip: the build stage's pip installs into it from outside.
RUN python -m build --wheel --no-isolation --outdir /wheels \
    && python -m venv --without-pip /opt/beehive \
    && pip --python /opt/beehive/bin/python install --no-cache-dir \
        --constraint infra/image/constraints.txt "$(find /wheels -name '*.whl')[${EXTRAS}]" \
    && cp infra/image/constraints.txt /opt/beehive/constraints.txt

FROM ${PYTHON_IMAGE}
ARG APP=samples
ENV PATH=/opt/beehive/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BEEHIVE_APP_DIR=/app \
    BEEHIVE_HOST=0.0.0.0 \
    BEEHIVE_PORT=8080 \
    BEEHIVE_LOG_FORMAT=json
# tini is PID 1 and hands SIGTERM on to the host: until Python has loaded beehive the host has
# no handler, and a PID 1 without one would ignore the signal until SIGKILL.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin beehive
COPY --from=build /opt/beehive /opt/beehive
WORKDIR /app
COPY ${APP}/ /app/${APP}/
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "beehive.web", "/healthz"]
ENTRYPOINT ["tini", "--", "beehive", "run"]
