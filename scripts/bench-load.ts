// Load generators for the benches, over raw keep-alive HTTP/1.1 sockets (no fetch client cost on
// a 2-core machine): an open-loop run at a fixed rate and a closed-loop run that can outlive its
// server (the kill -9 check). Bounded: every run stops by its own deadline.
import type { Socket } from 'bun';

/** One request, fully serialised (request line, headers, body). `id` comes back in `okIds`. */
export type LoadRequest = { bytes: Uint8Array; id: string };

export type LoadResult = {
  sent: number;
  /** Responses with status 200 whose body contains `okMarker` (when given). */
  ok: number;
  okIds: string[];
  statuses: Record<string, number>;
  /** Socket errors and responses that never came (server gone, deadline). */
  failed: number;
  /** Open loop: scheduled send time → response, in ms (queueing for a free connection included). */
  latencyMs: number[];
  /** Actual send → response, in ms. */
  serviceMs: number[];
  /** Open loop: how late the generator's timer picked a request up (never the server's fault). */
  lagMs: number[];
  seconds: number;
};

type Pending = { req: LoadRequest; dueAt: number; sentAt: number };

type Conn = {
  socket: Socket<undefined> | null;
  busy: Pending | null;
  buffer: Buffer;
  /** Bytes of the request not yet accepted by the kernel. */
  unsent: Uint8Array | null;
};

const HEADER_END = Buffer.from('\r\n\r\n');

/** Request bytes for `POST path` with a JSON body (keep-alive). */
export function postJson(host: string, path: string, body: string): Uint8Array {
  const payload = Buffer.from(body);
  const head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${payload.byteLength}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), payload]);
}

/** Request bytes for `GET path` (keep-alive). */
export function getRequest(host: string, path: string): Uint8Array {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
}

type Pool = {
  conns: Conn[];
  free: Conn[];
  result: LoadResult;
  /** A request settled (`true`: answered or failed) or an idle socket went away (`false`). */
  onIdle: (settled: boolean) => void;
  close: () => void;
};

/** Opens `connections` sockets; each answered request frees its socket and calls `onIdle`. */
async function openPool(
  host: string,
  port: number,
  connections: number,
  okMarker: string | null,
): Promise<Pool> {
  const result: LoadResult = {
    sent: 0,
    ok: 0,
    okIds: [],
    statuses: {},
    failed: 0,
    latencyMs: [],
    serviceMs: [],
    lagMs: [],
    seconds: 0,
  };
  const pool: Pool = {
    conns: [],
    free: [],
    result,
    onIdle: () => {},
    close: () => {
      for (const c of pool.conns) c.socket?.end();
    },
  };
  const complete = (conn: Conn, status: number, body: string) => {
    const p = conn.busy!;
    conn.busy = null;
    const now = performance.now();
    result.latencyMs.push(now - p.dueAt);
    result.serviceMs.push(now - p.sentAt);
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (status === 200 && (okMarker === null || body.includes(okMarker))) {
      result.ok++;
      result.okIds.push(p.req.id);
    }
    pool.free.push(conn);
    pool.onIdle(true);
  };
  const fail = (conn: Conn) => {
    const settled = conn.busy !== null;
    if (settled) result.failed++;
    conn.busy = null;
    conn.socket = null;
    const i = pool.free.indexOf(conn);
    if (i >= 0) pool.free.splice(i, 1);
    pool.onIdle(settled);
  };
  for (let i = 0; i < connections; i++) {
    const conn: Conn = { socket: null, busy: null, buffer: Buffer.alloc(0), unsent: null };
    conn.socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data(_socket, data) {
          conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, data]) : Buffer.from(data);
          for (;;) {
            const end = conn.buffer.indexOf(HEADER_END);
            if (end < 0) return;
            const head = conn.buffer.toString('latin1', 0, end);
            const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? Number.NaN);
            if (!Number.isFinite(length)) throw new Error('response without Content-Length');
            if (conn.buffer.length < end + 4 + length) return;
            const body = conn.buffer.toString('utf8', end + 4, end + 4 + length);
            conn.buffer = conn.buffer.subarray(end + 4 + length);
            complete(conn, Number(head.slice(9, 12)), body);
          }
        },
        drain(socket) {
          if (!conn.unsent) return;
          const n = socket.write(conn.unsent);
          conn.unsent = n < conn.unsent.byteLength ? conn.unsent.subarray(n) : null;
        },
        close: () => fail(conn),
        error: () => fail(conn),
      },
    });
    pool.conns.push(conn);
    pool.free.push(conn);
  }
  return pool;
}

function send(pool: Pool, conn: Conn, req: LoadRequest, dueAt: number): void {
  const sentAt = performance.now();
  conn.busy = { req, dueAt, sentAt };
  pool.result.sent++;
  const n = conn.socket!.write(req.bytes);
  conn.unsent = n < req.bytes.byteLength ? req.bytes.subarray(n) : null;
}

/**
 * Open loop: request i is due at start + i/rate whatever the server does; a due request waits for
 * a free connection (HTTP/1.1, no pipelining) and its latency counts from when it was due, so a
 * slow server cannot slow the offered load down and hide its queue (no coordinated omission).
 */
export async function openLoop(options: {
  host: string;
  port: number;
  rate: number;
  seconds: number;
  connections: number;
  request: (i: number) => LoadRequest;
  okMarker?: string;
  /** Give up on answers still missing this long after the last request was due. */
  graceMs?: number;
}): Promise<LoadResult> {
  const total = Math.round(options.rate * options.seconds);
  const requests = Array.from({ length: total }, (_, i) => options.request(i));
  const pool = await openPool(
    options.host,
    options.port,
    options.connections,
    options.okMarker ?? null,
  );
  const queue: number[] = [];
  const start = performance.now() + 10;
  const dueAt = (i: number) => start + (i * 1000) / options.rate;
  let next = 0;
  let answered = 0;
  const { promise: finished, resolve } = Promise.withResolvers<void>();
  const dispatch = () => {
    while (queue.length > 0 && pool.free.length > 0) {
      const i = queue.shift()!;
      send(pool, pool.free.pop()!, requests[i]!, dueAt(i));
    }
  };
  pool.onIdle = (settled) => {
    if (settled) answered++;
    dispatch();
    if (answered >= total) resolve();
  };
  const tick = () => {
    const now = performance.now();
    while (next < total && dueAt(next) <= now) {
      pool.result.lagMs.push(now - dueAt(next));
      queue.push(next++);
    }
    dispatch();
    if (next < total) setTimeout(tick, Math.max(0, dueAt(next) - performance.now()));
  };
  setTimeout(tick, 10);
  const grace = setTimeout(resolve, options.seconds * 1000 + (options.graceMs ?? 10_000));
  await finished;
  clearTimeout(grace);
  pool.result.seconds = (performance.now() - start) / 1000;
  pool.result.failed += total - pool.result.sent;
  pool.close();
  return pool.result;
}

/**
 * Closed loop: each connection sends its next request when the previous answer came. Ends after
 * `seconds`, or earlier when every connection is gone (the server was killed).
 */
export async function closedLoop(options: {
  host: string;
  port: number;
  seconds: number;
  connections: number;
  request: (i: number) => LoadRequest;
  okMarker?: string;
}): Promise<LoadResult> {
  const pool = await openPool(
    options.host,
    options.port,
    options.connections,
    options.okMarker ?? null,
  );
  const start = performance.now();
  const stopAt = start + options.seconds * 1000;
  let i = 0;
  const { promise: finished, resolve } = Promise.withResolvers<void>();
  const feed = () => {
    if (performance.now() >= stopAt) {
      if (pool.conns.every((c) => !c.busy)) resolve();
      return;
    }
    while (pool.free.length > 0) {
      const conn = pool.free.pop()!;
      send(pool, conn, options.request(i++), performance.now());
    }
    if (pool.conns.every((c) => c.socket === null)) resolve();
  };
  pool.onIdle = feed;
  feed();
  const deadline = setTimeout(resolve, options.seconds * 1000 + 10_000);
  await finished;
  clearTimeout(deadline);
  pool.result.seconds = (performance.now() - start) / 1000;
  pool.close();
  return pool.result;
}

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
