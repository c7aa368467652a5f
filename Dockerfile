# onslaught: one image for the orchestrator, the driver and the built-in target.
#   docker build -t onslaught .
#   docker run --rm onslaught run --drivers 3 --requests 10k
# Multi-stage: Rust build, dashboard build, then a small non-root runtime image.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p onslaught \
 && strip target/release/onslaught

FROM node:20-bookworm-slim AS dashboard
WORKDIR /dashboard
COPY dashboard/package.json dashboard/package-lock.json dashboard/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY dashboard/ ./
RUN npm run build

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/onslaught --create-home onslaught \
 && mkdir -p /reports && chown onslaught /reports
COPY --from=build /src/target/release/onslaught /usr/local/bin/onslaught
COPY --from=dashboard /dashboard/dist /usr/share/onslaught/dashboard
ENV ONSLAUGHT_DASHBOARD_DIR=/usr/share/onslaught/dashboard \
    ONSLAUGHT_REPORT_DIR=/reports
USER onslaught
WORKDIR /var/lib/onslaught
ENTRYPOINT ["onslaught"]
CMD ["--help"]
