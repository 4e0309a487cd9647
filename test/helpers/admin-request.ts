// One admin API call to a server listening on a port (the binary, or the app behind
// startServer): bearer token, JSON in and out, the status beside the parsed body.
export async function adminRequest(
  baseUrl: string,
  token: string,
  path: string,
  init: { method?: string; json?: unknown } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON of many different routes.
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  return { status: res.status, body: await res.json() };
}
