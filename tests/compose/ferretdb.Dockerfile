# FerretDB standing in for mongo:8 in the compose test: the binary ./scripts/setup
# builds, on the local base, keeping its data (SQLite files) in /data/db.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY ferretdb /usr/local/bin/ferretdb
RUN mkdir -p /data/db
EXPOSE 27017
ENTRYPOINT ["ferretdb", "--handler=sqlite", "--sqlite-url=file:/data/db/", \
    "--listen-addr=:27017", "--debug-addr=-", "--state-dir=-", "--telemetry=disable", \
    "--log-level=warn"]
