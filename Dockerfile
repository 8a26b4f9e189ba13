# syntax=docker/dockerfile:1
# Container image of arize-exporter.
#
#   docker build -t arize-exporter:0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#   docker run --rm -p 10841:10841 arize-exporter:0.1.0 --demo
#
# Build stage: the release binary, built exactly as CI checks it
# (`cargo build --release --locked`: the committed Cargo.lock, no updates).
# Keep the toolchain at or above `rust-version` in Cargo.toml
# (tests/integration/dockerfile.rs checks both).
FROM rust:1.95-bookworm AS build
# .git is not in the build context: the revision of arize_exporter_build_info
# and --version comes in as a build argument (build.rs reads
# ARIZE_EXPORTER_REVISION at build time).
ARG REVISION=unknown
ENV ARIZE_EXPORTER_REVISION=${REVISION}
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target/ between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/arize-exporter /out/arize-exporter

# Runtime stage: distroless "cc" carries only glibc, libgcc, the CA
# certificates (/etc/ssl/certs, read by the exporter's TLS client) and a
# nonroot user: no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
# The OCI labels: the release workflow (.github/workflows/release.yml) passes
# every argument; a local build passes at least REVISION.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="arize-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the evaluation tasks of Arize AX" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/arize-exporter /usr/local/bin/arize-exporter
# The numeric nonroot user of distroless, so that Kubernetes' runAsNonRoot can
# verify it.
USER 65532:65532
EXPOSE 10841
# The key comes from the environment: ARIZE_API_KEY, or ARIZE_API_KEY_FILE
# naming a mounted file (preferred). Arguments go to the exporter, e.g.
# `--demo` or `--space-id=...`.
ENTRYPOINT ["/usr/local/bin/arize-exporter"]
