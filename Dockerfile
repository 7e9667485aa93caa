# The actor host: `beehive run` over the modules named in BEEHIVE_MODULES (or the arguments).
#   docker build -t beehive .
#   docker run -e BEEHIVE_MODULES=samples.prismo beehive
# Build arguments: EXTRAS (the package extras installed; azure for Service Bus and Storage,
# rabbitmq for RabbitMQ) and APP (the directory of actor modules copied into /app).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=azure,rabbitmq
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN pip install --no-cache-dir build==1.2.2.post1
COPY pyproject.toml README.md ./
COPY beehive/ beehive/
RUN python -m build --wheel --outdir /wheels \
    && python -m venv /opt/beehive \
    && /opt/beehive/bin/pip install --no-cache-dir "$(find /wheels -name '*.whl')[${EXTRAS}]"

FROM ${PYTHON_IMAGE}
ARG APP=samples
ENV PATH=/opt/beehive/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BEEHIVE_APP_DIR=/app \
    BEEHIVE_HOST=0.0.0.0 \
    BEEHIVE_PORT=8080 \
    BEEHIVE_LOG_FORMAT=json
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin beehive
COPY --from=build /opt/beehive /opt/beehive
WORKDIR /app
COPY ${APP}/ /app/${APP}/
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "beehive.web", "/healthz"]
ENTRYPOINT ["beehive", "run"]
