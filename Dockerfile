# kickit-edge: the edge server as a container image.
#
#   podman build -t kickit-edge .            (or docker build)
#   podman build --build-arg BASE_IMAGE=localhost/kickit-base:bookworm -t kickit-edge .
#
# The base is any image with python3 and its venv module at the same path in
# both stages (official python images, or Debian with python3-venv).
# scripts/image.sh builds and smoke-tests it on a local Debian base.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kickit_edge ./kickit_edge
# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret:
#   --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt
# It is used for this step only and never stored in a layer.
RUN --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
 && python3 -m venv /opt/kickit-edge \
 && /opt/kickit-edge/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/kickit-edge/bin/kickit-edge --version

FROM ${BASE_IMAGE}
COPY --from=build /opt/kickit-edge /opt/kickit-edge
# A fixed, unprivileged uid so volumes can be chowned to it ahead of time.
RUN groupadd --system --gid 10001 kickit \
 && useradd --system --uid 10001 --gid kickit --home-dir /var/lib/kickit-edge --no-create-home kickit \
 && mkdir -p /snapshots /var/lib/kickit-edge/events /var/lib/kickit-edge/cache \
 && chown -R kickit:kickit /var/lib/kickit-edge
ENV PATH=/opt/kickit-edge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    KICKIT_HOST=0.0.0.0 \
    KICKIT_PORT=8000 \
    KICKIT_EVENTS_DIR=/var/lib/kickit-edge/events \
    KICKIT_CACHE_DIR=/var/lib/kickit-edge/cache
USER 10001:10001
WORKDIR /var/lib/kickit-edge
VOLUME ["/snapshots", "/var/lib/kickit-edge/events"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('KICKIT_PORT', '8000'), timeout=2)"]
# Exec form: kickit-edge is PID 1 and gets SIGTERM directly (no shell in between).
ENTRYPOINT ["kickit-edge"]
# Follow a mounted snapshot folder (a ConfigMap); for an origin URL give
# `serve --snapshot-url URL` as the arguments instead.
CMD ["serve", "--snapshots", "/snapshots"]
