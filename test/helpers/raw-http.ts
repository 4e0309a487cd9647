// Raw HTTP/1.x over a TCP socket: for requests fetch() will not send (a chosen Host header, none
// at all, HTTP/1.0, an unnormalised path).
export type RawResponse = { status: number; headers: string; body: string };

/** Sends `head` (request line and headers, without the final blank line) and an optional body. */
export async function rawRequest(
  port: number,
  head: string,
  body = '',
  timeoutMs = 5_000,
): Promise<RawResponse> {
  const chunks: Uint8Array[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data: (_s, data) => {
        chunks.push(new Uint8Array(data));
      },
      close: () => resolve(),
      error: (_s, err) => reject(err),
    },
  });
  const timer = setTimeout(() => {
    socket.end();
    reject(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const withClose = /\r\nconnection:/i.test(head) ? head : `${head}\r\nConnection: close`;
  const length = body ? `\r\nContent-Length: ${Buffer.byteLength(body)}` : '';
  socket.write(`${withClose}${length}\r\n\r\n${body}`);
  await promise.finally(() => clearTimeout(timer));
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const headers = split === -1 ? text : text.slice(0, split);
  let rest = split === -1 ? '' : text.slice(split + 4);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(headers)) rest = unchunk(rest);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1] ?? 0);
  return { status, headers, body: rest };
}

function unchunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol === -1) return out;
    const size = Number.parseInt(text.slice(at, eol), 16);
    if (!size) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}
