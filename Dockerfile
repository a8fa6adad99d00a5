# One image for every process of the gateway; docker-compose.yml picks the process with `command`.
# Packages ship as TypeScript source and run with tsx (no build step to drift from the source).
FROM node:20-bookworm-slim
RUN npm install -g pnpm@9.15.9 && npm cache clean --force
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile
ENV NODE_ENV=production
USER node
CMD ["node_modules/.bin/tsx", "apps/ingress/src/main.ts"]
