# syntax=docker/dockerfile:1
# Harbormaster: one image for `harbormaster webhook` and `harbormaster operator`.
#   docker build -t harbormaster:0.1.0 .
# The build stage runs the same scripts as CI (hack/install-deps.sh, hack/build.sh); the runtime
# stage holds the binary and the Debian packages of the shared libraries it links, nothing else.
# tests/deploy/dockerfile_test.sh keeps both promises checked.

FROM debian:bookworm AS build
WORKDIR /src
COPY hack/install-deps.sh hack/install-deps.sh
RUN hack/install-deps.sh build
COPY . .
RUN hack/build.sh build Release OFF harbormaster \
 && strip build/bin/harbormaster

FROM debian:bookworm-slim AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="harbormaster" \
      org.opencontainers.image.description="Admission webhook and operator for the Harbor registry" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/harbormaster/harbormaster" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"
# prometheus-cpp's runtime library comes from bookworm-backports, as its -dev package does.
RUN echo "deb http://deb.debian.org/debian bookworm-backports main" \
      > /etc/apt/sources.list.d/bookworm-backports.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libc6 \
      libgcc-s1 \
      libstdc++6 \
      libssl3 \
      libboost-system1.74.0 \
      libyaml-cpp0.7 \
      libspdlog1.10 \
      libfmt9 \
      libprometheus-cpp-core1.0 \
      libre2-9 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/harbormaster /usr/local/bin/harbormaster
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/harbormaster"]
CMD ["--help"]
