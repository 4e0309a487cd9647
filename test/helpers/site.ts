// A local website on 127.0.0.1 for crawling tests: fixed routes, hit log, in-flight counter.

export type Route = Response | string | ((req: Request) => Response | Promise<Response>);

export type LocalSite = {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Paths requested, in order (path + query). */
  hits: string[];
  /** Headers of every request, in order. */
  headers: Headers[];
  /** Most requests in flight at once. */
  maxInFlight: () => number;
  /** Adds or replaces a route. */
  set: (path: string, route: Route) => void;
  stop: () => void;
};

export const html = (body: string, title = 'Page', status = 200) =>
  new Response(
    `<!doctype html><html><head><title>${title}</title></head><body>${body}</body></html>`,
    {
      status,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    },
  );

export const xml = (body: string) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    headers: { 'content-type': 'application/xml' },
  });

export const urlset = (urls: string[]) =>
  xml(
    `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.map((u) => `<url><loc>${u}</loc></url>`).join('')}</urlset>`,
  );

export const sitemapIndex = (urls: string[]) =>
  xml(
    `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.map((u) => `<sitemap><loc>${u}</loc></sitemap>`).join('')}</sitemapindex>`,
  );

/** Starts a site; unknown paths answer 404. Routes given as strings are served as text/plain. */
export function startSite(routes: Record<string, Route> = {}): LocalSite {
  const table = new Map(Object.entries(routes));
  const hits: string[] = [];
  const headers: Headers[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const path = `${url.pathname}${url.search}`;
      hits.push(path);
      headers.push(req.headers);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        const route = table.get(path) ?? table.get(url.pathname);
        if (route === undefined) return new Response('not found', { status: 404 });
        if (typeof route === 'string') {
          return new Response(route, { headers: { 'content-type': 'text/plain' } });
        }
        if (route instanceof Response) return route.clone();
        return await route(req);
      } finally {
        inFlight--;
      }
    },
  });
  const origin = `http://127.0.0.1:${server.port}`;
  return {
    origin,
    port: server.port ?? 0,
    hits,
    headers,
    maxInFlight: () => maxInFlight,
    set: (path, route) => table.set(path, route),
    stop: () => server.stop(true),
  };
}
