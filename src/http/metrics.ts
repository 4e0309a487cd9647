// Prometheus metrics kept in process: requests by route and status, latency, memory.

const BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

type Histogram = { buckets: number[]; sum: number; count: number };

/** A label value needs escaping only if it has one of these; most never do and are used as they are. */
const NEEDS_ESCAPE = /[\\"\n]/;
const escapeLabel = (s: string) =>
  NEEDS_ESCAPE.test(s) ? s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : s;

function labelsOf(labels: Record<string, string>): string {
  let out = '';
  for (const k in labels) out += `${out ? ',' : ''}${k}="${escapeLabel(labels[k]!)}"`;
  return out;
}

export class Metrics {
  private requests = new Map<string, number>();
  private latency = new Map<string, Histogram>();
  private counters = new Map<string, { help: string; values: Map<string, number> }>();
  private gauges = new Map<
    string,
    { help: string; collect: () => { labels: Record<string, string>; value: number }[] }
  >();

  observeRequest(method: string, route: string, status: number, durationMs: number): void {
    const key = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hKey = `method="${escapeLabel(method)}",route="${escapeLabel(route)}"`;
    let h = this.latency.get(hKey);
    if (!h) {
      h = { buckets: BUCKETS_MS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(hKey, h);
    }
    BUCKETS_MS.forEach((le, i) => {
      if (durationMs <= le) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += durationMs / 1000;
    h.count += 1;
  }

  /** Increments a named counter (e.g. answerdesk_jobs_total{state="done"}). */
  inc(name: string, help: string, labels: Record<string, string> = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) {
      c = { help, values: new Map() };
      this.counters.set(name, c);
    }
    const key = labelsOf(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + by);
  }

  /** A gauge read when /metrics is rendered (e.g. a count kept in SQLite). */
  gauge(
    name: string,
    help: string,
    collect: () => { labels: Record<string, string>; value: number }[],
  ): void {
    this.gauges.set(name, { help, collect });
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP http_requests_total HTTP requests by method, route and status.');
    out.push('# TYPE http_requests_total counter');
    for (const [k, n] of this.requests) out.push(`http_requests_total{${k}} ${n}`);
    out.push('# HELP http_request_duration_seconds HTTP request latency.');
    out.push('# TYPE http_request_duration_seconds histogram');
    for (const [k, h] of this.latency) {
      BUCKETS_MS.forEach((le, i) => {
        out.push(`http_request_duration_seconds_bucket{${k},le="${le / 1000}"} ${h.buckets[i]}`);
      });
      out.push(`http_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`);
      out.push(`http_request_duration_seconds_sum{${k}} ${h.sum}`);
      out.push(`http_request_duration_seconds_count{${k}} ${h.count}`);
    }
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`);
      out.push(`# TYPE ${name} counter`);
      for (const [k, n] of c.values) out.push(k ? `${name}{${k}} ${n}` : `${name} ${n}`);
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`);
      out.push(`# TYPE ${name} gauge`);
      for (const { labels, value } of g.collect())
        out.push(`${name}{${labelsOf(labels)}} ${value}`);
    }
    const mem = process.memoryUsage();
    out.push('# HELP process_resident_memory_bytes Resident memory size in bytes.');
    out.push('# TYPE process_resident_memory_bytes gauge');
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    out.push('# HELP process_heap_bytes JavaScript heap in use, in bytes.');
    out.push('# TYPE process_heap_bytes gauge');
    out.push(`process_heap_bytes ${mem.heapUsed}`);
    out.push('# HELP process_uptime_seconds Seconds since the process started.');
    out.push('# TYPE process_uptime_seconds gauge');
    out.push(`process_uptime_seconds ${process.uptime()}`);
    return `${out.join('\n')}\n`;
  }
}
