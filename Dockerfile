# syntax=docker/dockerfile:1

# Build: SQLite is linked through cgo, so the builder needs a C compiler
# (the golang image has gcc) and the runtime needs glibc (Debian, not Alpine
# or distroless/static).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags '-s -w' -o /out/datashare ./cmd/datashare

FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin datashare \
	&& mkdir -p /data \
	&& chown datashare:datashare /data
COPY --from=build /out/datashare /usr/local/bin/datashare
USER datashare
WORKDIR /data
# The SQLite file (and its -wal/-shm companions) live on the volume. Set
# DATASHARE_DB to a postgres:// URL to use PostgreSQL instead.
ENV DATASHARE_DB=/data/datashare.db \
	DATASHARE_ADDR=:8080
VOLUME /data
EXPOSE 8080
# No curl in the slim image: bash's /dev/tcp asks /readyz, which answers 200
# only when the database does.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
	CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["datashare"]
CMD ["serve"]
