# The daemons of seekgive in one Dockerfile, one target per role: `seeker`
# (also runs `seeker front`), `channel` and `giver`. The three share every layer
# but their last, so they cost the disk of one.
#
# Built by images/grid/build, whose build context holds wheels/: seekgive's own
# wheel, every dependency's wheel for BASE_IMAGE's Python and platform, and pip's.
# Nothing is fetched while building, so a base image with neither pip nor a route
# to a package index will do.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS install
COPY wheels /wheels
# A virtual environment without pip (the base may lack ensurepip); pip runs from
# its own wheel, whose name the shell finds.
RUN set -- /wheels/pip-*.whl \
    && python3 -m venv --without-pip /opt/seekgive \
    && /opt/seekgive/bin/python "$1/pip" install --no-index --no-compile \
        --disable-pip-version-check --find-links /wheels seekgive \
    && /opt/seekgive/bin/python -m compileall -q /opt/seekgive/lib

FROM ${BASE_IMAGE} AS common
ARG VERSION
ARG UID=10001
# /var/lib/seekgive is where the Seeker and the Channel keep their data: mount a
# volume there.
RUN groupadd --system --gid "$UID" seekgive \
    && useradd --system --uid "$UID" --gid seekgive --home-dir /var/lib/seekgive \
        --no-create-home --shell /usr/sbin/nologin seekgive \
    && install -d -o seekgive -g seekgive -m 0750 /var/lib/seekgive
COPY --from=install /opt/seekgive /opt/seekgive
COPY healthcheck /usr/local/bin/seekgive-healthcheck
# The documentation the Seeker serves at /docs.
COPY docs /opt/seekgive/share/docs
COPY README.md /opt/seekgive/share/README.md
ENV PATH=/opt/seekgive/bin:$PATH \
    PYTHONUNBUFFERED=1
LABEL org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /var/lib/seekgive

FROM common AS seeker
ENV SEEKGIVE_SEEKER_HOST=0.0.0.0 \
    SEEKGIVE_SEEKER_DATA_DIR=/var/lib/seekgive \
    SEEKGIVE_SEEKER_DOCS_DIR=/opt/seekgive/share/docs
LABEL org.opencontainers.image.title="seekgive-seeker" \
      org.opencontainers.image.description="The Seeker: cuts jobs into blocks of keys and leases them to Givers; also its front (seeker front)."
USER seekgive
EXPOSE 8765
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s \
    CMD ["seekgive-healthcheck", "http://127.0.0.1:8765/healthz"]
ENTRYPOINT ["seeker"]
CMD ["run"]

FROM common AS channel
ENV SEEKGIVE_CHANNEL_HOST=0.0.0.0 \
    SEEKGIVE_CHANNEL_STORE=sqlite:////var/lib/seekgive/channel.sqlite3
LABEL org.opencontainers.image.title="seekgive-channel" \
      org.opencontainers.image.description="The Channel: keeps the signed results Givers post."
USER seekgive
EXPOSE 8766
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s \
    CMD ["seekgive-healthcheck", "http://127.0.0.1:8766/healthz"]
ENTRYPOINT ["channel"]
CMD ["serve"]

FROM common AS giver
LABEL org.opencontainers.image.title="seekgive-giver" \
      org.opencontainers.image.description="The Giver: runs the Seeker's tasks as sandboxed containers on a volunteer's Docker Engine."
# Runs as seekgive too; it reaches the Docker socket through the socket's group,
# which `docker run --group-add GID` (compose: group_add) gives it.
USER seekgive
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s CMD ["giver", "status"]
ENTRYPOINT ["giver"]
CMD ["run"]
