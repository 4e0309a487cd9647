// Times GET /healthz from a thread of its own: a probe sent while the server's thread is busy
// waits for it, so the slowest answer is the longest time the server could not answer (a
// prober on the server's own thread would not even send during that time).
declare const self: Worker;

/** What the probe reports when told to stop. */
export type ProbeResult = { slowestMs: number; samples: number; failure: string | null };

let stopped = false;
self.onmessage = async (event: MessageEvent<{ url: string } | 'stop'>) => {
  if (event.data === 'stop') {
    stopped = true;
    return;
  }
  const { url } = event.data;
  let slowestMs = 0;
  let samples = 0;
  let failure: string | null = null;
  do {
    const started = performance.now();
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      if (res.status !== 200) failure = `/healthz answered ${res.status}`;
    } catch (e) {
      failure = `/healthz failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    slowestMs = Math.max(slowestMs, performance.now() - started);
    samples++;
    // Probe pacing: back-to-back requests would take the CPU the work being measured needs.
    if (!stopped) await Bun.sleep(20);
  } while (!stopped && !failure);
  self.postMessage({ slowestMs, samples, failure } satisfies ProbeResult);
};
