# Warden for a host deployment (see docker-compose.yml). It runs containers itself, so it
# needs a privileged container with the host's cgroup tree; PostgreSQL and Redis come from
# DATABASE_URL and REDIS_URL.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libseccomp-dev util-linux acl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/warden
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY native ./native
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev
ENV WARDEN_DATA_DIR=/var/lib/warden WARDEN_HOST=0.0.0.0
EXPOSE 8484
ENTRYPOINT ["node", "bin/warden.js"]
CMD ["up"]
