# syntax=docker/dockerfile:1
# One image for every shoal process: `shoal service <name>` runs a cluster service, and the job
# commands (`shoal submit`, `status`, `cancel`) and embedded mode (`shoal get`) work from it too.
# Node 20 is the version the project is built and tested with (package.json engines).

# Build stage: the full dependency tree (TypeScript included) and the compiled program.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages ./packages
COPY services ./services
COPY scripts/stage-runtime.mjs ./scripts/stage-runtime.mjs
# --ignore-scripts: the root's prepare script is the build below, which needs the sources first.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
# The CLI and every workspace it imports (test kits and the fuzz harness are not part of it).
RUN npx tsc -b packages/cli
# /runtime: manifests, each shipped workspace's `files` (dist, Lua scripts, bin) and production
# dependencies only (npm ci --omit=dev). test/deploy runs this same script to check the result.
RUN --mount=type=cache,target=/root/.npm node scripts/stage-runtime.mjs /runtime
# The one directory the program writes to (see the run-time stage), made here: the run-time
# stage runs nothing.
RUN mkdir /state

# Run-time stage: Node and the staged program, nothing else.
FROM node:20-bookworm-slim AS runtime
# The heap limit sets how far V8 lets garbage pile up between full collections, not only the
# ceiling: with its default on a large machine (4 GiB) a peer-worker holding 40 MiB of live
# objects grew its heap to 173 MiB; at 512 MiB it peaked at 88 (BENCHMARKS.md, "big torrent").
# The services' live heaps on that torrent of 102,400 pieces and 10,000 files stayed under 60 MiB.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=512 \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
# Owned by root and not writable by the user that runs it: the program never writes its own files.
COPY --from=build /runtime /app
# The one place the program keeps state of its own: the tracker-poller's DHT node id and routing
# table (SHOAL_DHT_STATE_FILE). Owned by the user below; a volume mounted here starts so too.
COPY --from=build --chown=1000:1000 /state /var/lib/shoal
# The image's own unprivileged user (node, 1000:1000), numeric so that Kubernetes can check
# runAsNonRoot against it.
USER 1000:1000
# 9464: /metrics and /healthz (SHOAL_METRICS_PORT); 6881: peer-worker's incoming peers
# (SHOAL_PEER_WORKER_PORT); 6881/udp: the tracker-poller's DHT node (SHOAL_DHT_PORT).
EXPOSE 9464 6881 6881/udp
ENTRYPOINT ["shoal"]
CMD ["--help"]
