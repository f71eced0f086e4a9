# The govhost image: the controller (default command) and the portal API (command
# `node portal-api/main.ts`). Node 24 runs the TypeScript sources directly. Debian's Chromium is the
# accessibility scanner's browser tier. Machines without a Docker engine build the same image with
# `npm run image:govhost` (tools/image/govhost-image-spec.ts; a unit test keeps the two in step).
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: @pulumi/kubernetes's would try to download a plugin, and nothing here needs one.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY controller controller
COPY lib lib
COPY policies policies
COPY portal-api portal-api
ENV NODE_ENV=production GOVHOST_CHROMIUM=/usr/bin/chromium
USER 1000:1000
EXPOSE 8080 8081 8082
CMD ["node", "--max-semi-space-size=8", "controller/main.ts"]
