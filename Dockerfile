# Herald: API and workers in one image; HERALD_ROLES picks what a container runs.
FROM node:20-bookworm-slim AS build
# better-sqlite3 (the embedded catalog) compiles its native module when no prebuilt one downloads.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 HERALD_DATA_DIR=/app/.data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The data folder (embedded catalog, generated admin key and HERALD_SECRET_KEY, email outbox) belongs to
# the user Herald runs as; /app stays root's. A volume mounted here starts with this ownership, so a plain
# `docker run` (an anonymous volume) or `-v herald-data:/app/.data` both work.
RUN mkdir -p /app/.data && chown node:node /app/.data
VOLUME ["/app/.data"]
USER node
EXPOSE 3000
# Liveness: the API's /healthz, or a worker-only process's on METRICS_PORT (set it to be probed).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e=process.env,p=(e.HERALD_ROLES||'api').includes('api')?(e.PORT||3000):e.METRICS_PORT;fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/api/src/main.js"]
