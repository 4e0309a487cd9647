# answerdesk: build the single binary, run it on debian-slim as a non-root user.
# docker build -t answerdesk . && docker run -p 3000:3000 -v answerdesk-data:/data answerdesk

# ── build: the README's own install, then `bun run build` ──────────────────────────────────────
FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN npm install -g bun@1.4.4
COPY package.json bun.lock bunfig.toml ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build && ./dist/answerdesk --version

# ── runtime: the binary alone (no node_modules, no Bun) ────────────────────────────────────────
FROM debian:12-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin answerdesk \
  && mkdir -p /data /var/cache/answerdesk \
  && chown answerdesk:answerdesk /data /var/cache/answerdesk
COPY --from=build /src/dist/answerdesk /usr/local/bin/answerdesk
# TMPDIR: LanceDB's native module is unpacked there at start (writable, exec allowed).
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    TMPDIR=/var/cache/answerdesk
USER answerdesk
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# SIGTERM drains in-flight requests before exit (docker stop sends it).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/answerdesk"]
CMD ["serve"]
