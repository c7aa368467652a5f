# onslaught: one image for the orchestrator, the driver and the built-in target.
#   docker build -t onslaught .
#   docker run --rm onslaught run --drivers 3 --requests 10k
# The dashboard is built first and embedded in the binary; the runtime image holds one binary.
# Base images are build arguments (defaults: the official images), so a machine without a
# registry can substitute local ones:
#   docker build --build-arg RUNTIME_IMAGE=my/bookworm ...
# A binary built on the host instead of in the `build` stage (what the compose stack test does,
# see scripts/compose-test.sh): a folder holding only that binary as the build context:
#   mkdir ctx && cp target/release/onslaught ctx/ && docker build -f Dockerfile --target prebuilt ctx
# The stages needed by `prebuilt` come first, so even the classic builder (which builds every
# stage before the target) touches no Rust or Node image for it.

ARG RUST_IMAGE=rust:1-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

# The runtime: Debian slim, a non-root user, reports in /reports.
FROM ${RUNTIME_IMAGE} AS runtime-base
RUN if ! dpkg -s ca-certificates >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --home-dir /var/lib/onslaught --create-home onslaught \
 && mkdir -p /reports && chown onslaught /reports
ENV ONSLAUGHT_REPORT_DIR=/reports
USER onslaught
WORKDIR /var/lib/onslaught
ENTRYPOINT ["onslaught"]
CMD ["--help"]

# The runtime with a binary built elsewhere (the build context is a folder holding only it).
FROM runtime-base AS prebuilt
COPY onslaught /usr/local/bin/onslaught

# The dashboard's static files, embedded into the binary by the next stage.
FROM ${NODE_IMAGE} AS dashboard
WORKDIR /dashboard
COPY dashboard/package.json dashboard/package-lock.json dashboard/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY dashboard/ ./
RUN npm run build

# The release binary, with the dashboard and the report page embedded (crates/api/build.rs,
# crates/orchestrator/build.rs).
FROM ${RUST_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
COPY --from=dashboard /dashboard/dist dashboard/dist
COPY --from=dashboard /dashboard/dist-report dashboard/dist-report
RUN cargo build --release --locked -p onslaught \
 && strip target/release/onslaught

# The default image: the runtime with the binary built above.
FROM runtime-base
COPY --from=build /src/target/release/onslaught /usr/local/bin/onslaught
