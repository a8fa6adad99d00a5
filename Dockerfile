# syntax=docker/dockerfile:1
# One small image per process of the gateway, each a target of this file:
#   docker build --target ingress -t linkojob/ingress .      (likewise inbound-worker, outbound-worker,
#   realtime, meta-sim; `docker build .` without --target builds the ingress, the last stage)
# Every image holds only its app's compiled dist/ and its production dependencies, as `pnpm deploy`
# lays them out (e2e/src/deploy/production-install.test.ts starts each such install with `node`).

# Same base for building and running: the native add-ons installed at build time (msgpackr-extract,
# under BullMQ) are compiled/selected for the glibc and Node ABI they will run on.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
# The packageManager field's pnpm, from npm (corepack's signature keys lag behind npm's on older Nodes).
RUN npm install --global pnpm@9.15.9 && npm cache clean --force
WORKDIR /repo

# Dependency layer: `pnpm fetch` needs only the lockfile, so this layer (the slow download) is reused
# until pnpm-lock.yaml changes, whatever source changed.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
RUN pnpm fetch

# Source (.dockerignore keeps out node_modules, dist, .env files and local artifacts), then an install
# from the store alone: --offline fails rather than resolving anything the lockfile does not pin.
COPY . .
RUN pnpm install --offline --frozen-lockfile

# Compile every workspace once (tsc to dist/, assets copied beside), then lay out each app with only
# its production dependencies: workspace packages are copied with their package.json `files` (dist/),
# devDependencies (tsx, vitest, @linkojob/testing, typescript) are left behind. All five images share
# this stage, so `docker compose build` compiles the workspace once.
RUN pnpm -r run build
# deploy resolves each app's dependencies again (pnpm 9 keeps no lockfile for the target): it needs
# the registry's metadata, which neither `pnpm fetch` nor a frozen install stores, so it may ask the
# registry (--prefer-offline: only what the metadata cache lacks; the packages come from the store).
RUN for app in ingress inbound-worker outbound-worker realtime meta-sim; do \
      pnpm --prefer-offline deploy --filter "@linkojob/$app" --prod "/out/$app" || exit 1; \
    done

# ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM to node (which drains, then exits 0) and reaps zombies. Debian's
# package, so no download from elsewhere; in compose do not add `init: true` on top of it.
RUN apt-get update \
  && apt-get install --yes --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
# Production mode: every process then refuses missing or known development secrets.
ENV NODE_ENV=production
WORKDIR /app
# Root owns the code and the non-root `node` user (uid 1000, from the base image) runs it, so a
# compromised process cannot rewrite what it runs.
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
# What onShutdownSignal listens for (tini passes it on); compose gives it 40 s against the 30 s drain.
STOPSIGNAL SIGTERM
# /ready answers 200 once Redis and MongoDB answer (503 while draining). Node's own fetch: the slim
# image has no curl or wget. Workers listen on HEALTH_PORT, the HTTP processes on PORT.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTH_PORT || process.env.PORT) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]

# ---------------------------------------------------------------------------------------------------
# One target per app: its own install from the build stage, and the port its healthcheck asks.
# The ports are the apps' defaults (env.ts) and docker-compose.yml's; override them with -e.

FROM runtime AS meta-sim
COPY --from=build /out/meta-sim ./
# A fake Meta listens on loopback unless told otherwise; in a container it must bind 0.0.0.0 to be
# reached by the other containers (never publish it: it signs any webhook it is asked to send).
ENV PORT=4000 HOST=0.0.0.0
EXPOSE 4000

FROM runtime AS inbound-worker
COPY --from=build /out/inbound-worker ./
# Workers serve only /health and /ready, and only when HEALTH_PORT is set (the default 0 is none).
ENV HEALTH_PORT=3010
EXPOSE 3010

FROM runtime AS outbound-worker
COPY --from=build /out/outbound-worker ./
ENV HEALTH_PORT=3011
EXPOSE 3011

FROM runtime AS realtime
COPY --from=build /out/realtime ./
ENV PORT=3001
EXPOSE 3001

FROM runtime AS ingress
COPY --from=build /out/ingress ./
ENV PORT=3000
EXPOSE 3000
