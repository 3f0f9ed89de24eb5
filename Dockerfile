# Multi-stage build: compile in the Rust image, run in a slim Debian as a non-root user with
# the data folder (SQLite database, master key, email outbox) on the /data volume.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY templates templates
COPY static static
COPY migrations migrations
RUN cargo build --release --locked --bin cartbridge

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data cartbridge \
    && mkdir -p /data && chown cartbridge /data && chmod 0700 /data
COPY --from=build /src/target/release/cartbridge /usr/local/bin/cartbridge
USER cartbridge
VOLUME /data
ENV CARTBRIDGE_DATA_DIR=/data CARTBRIDGE_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["cartbridge"]
CMD ["serve"]
