// Scheduled re-sync of url and sitemap sources: a loop that queues the refreshes that are due as
// ordinary fetch jobs (`source.ingest`, one serial key per source), a few at a time. Nothing is
// kept in memory between ticks: when a refresh is due follows from the source's row (when its
// last fetch ended, its interval, its jitter), so the schedule survives restarts.
import type { Worker } from '../jobs/worker.ts';
import { enqueueFetch } from './fetched.ts';
import { recordRefreshQueued, type ScheduledSource, scheduledSources } from './service.ts';
import type { SourcesDeps } from './types.ts';

/** How often the loop looks for due refreshes. */
export const REFRESH_TICK_MS = 60_000;
/** Scheduled refreshes queued or running at once; the rest wait for a later tick. */
export const REFRESHES_QUEUED_MAX = 4;
/** Each source's interval is stretched or shortened by up to this fraction (its own, fixed). */
export const REFRESH_JITTER = 0.1;
/**
 * A queued refresh that has not ended after this long is taken as lost (its job was cancelled
 * without a fetch ending) and no longer holds a slot or the source. The longest fetch (a
 * 15-minute crawl, retried with backoff) ends well within it.
 */
export const REFRESH_QUEUED_STALE_MS = 24 * 3_600_000;

/**
 * The source's jitter, a fraction in [-REFRESH_JITTER, REFRESH_JITTER): derived from its id, so
 * it is the same at every tick and after restarts, and sources added together spread out.
 */
export function refreshJitter(sourceId: string): number {
  const digest = new Bun.CryptoHasher('sha256').update(sourceId).digest();
  const unit = digest.readUInt32BE(0) / 2 ** 32;
  return (unit * 2 - 1) * REFRESH_JITTER;
}

/** When a scheduled source is due (ms since the epoch): its interval, jittered, after `since`. */
export function refreshDueAt(source: Pick<ScheduledSource, 'id' | 'intervalHours' | 'since'>) {
  const intervalMs = source.intervalHours * 3_600_000;
  return Date.parse(source.since) + Math.round(intervalMs * (1 + refreshJitter(source.id)));
}

export type RefreshSchedulerDeps = { sources: SourcesDeps; worker: Worker };

/** The loop: `start()` by serve(), `stop()` at shutdown; tests call `tick()` with a pinned clock. */
export class RefreshScheduler {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly deps: RefreshSchedulerDeps,
    private readonly tickMs = REFRESH_TICK_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Queues the refreshes due now, earliest first, while fewer than REFRESHES_QUEUED_MAX are
   * outstanding; returns the ids of the sources queued. Never throws (a timer calls it).
   */
  tick(): string[] {
    const { sources, worker } = this.deps;
    try {
      const now = sources.clock.now();
      const scheduled = scheduledSources(sources.db);
      const outstanding = (s: ScheduledSource) =>
        s.queuedAt !== null && Date.parse(s.queuedAt) > now - REFRESH_QUEUED_STALE_MS;
      const slots = REFRESHES_QUEUED_MAX - scheduled.filter(outstanding).length;
      if (slots <= 0) return [];
      const due = scheduled
        .filter((s) => !outstanding(s))
        .map((s) => ({ source: s, at: refreshDueAt(s) }))
        .filter((d) => d.at <= now)
        .sort((a, b) => a.at - b.at)
        .slice(0, slots);
      for (const { source } of due) {
        // One transaction: a crash never leaves the mark without the job (or the reverse).
        sources.db.transaction(() => {
          recordRefreshQueued(sources, source.id);
          enqueueFetch(worker, source, source.chatbotId, 'scheduled');
        })();
      }
      if (due.length > 0) {
        sources.log.info(
          { sourceIds: due.map((d) => d.source.id) },
          'scheduled source refreshes queued',
        );
      }
      return due.map((d) => d.source.id);
    } catch (err) {
      if (!sources.storage.report(err)) {
        sources.log.error({ err }, 'could not queue scheduled source refreshes');
      }
      return [];
    }
  }
}
