// The answering policy (`answerWhen`): whether the bot answers a Crisp visitor now, or leaves the
// conversation to the team (the messages are kept as history; no LLM call, no post).
import { withinBusinessHours } from '../chatbots/business-hours.ts';
import type { Chatbot } from '../chatbots/model.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logging.ts';
import type { CrispClient } from './client.ts';
import type { Connection } from './connections.ts';

/** Why a message was left to the team (the turn's outcome is `declined:<reason>`). */
export type DeclineReason = 'outside_hours' | 'operator_online';

/** How long Crisp's answer about operators online is reused. */
const AVAILABILITY_TTL_MS = 60_000;
const CACHED_WEBSITES_MAX = 1_000;

/**
 * "Is an operator of this website online?", asked of Crisp (`GET …/availability/operators`, any
 * `type: "online"`; docs/notes/crisp.md, F18) at most once a minute per
 * website and token. Null when Crisp cannot say (an error, a missing scope): the bot answers then.
 */
export class OperatorAvailability {
  private readonly cache = new Map<string, { at: number; online: boolean | null }>();

  constructor(
    private readonly client: CrispClient,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async anyOnline(connection: Connection): Promise<boolean | null> {
    const key = `${connection.websiteId}\n${connection.credentials.identifier}`;
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < AVAILABILITY_TTL_MS && now >= hit.at) return hit.online;
    const res = await this.client.operatorsOnline(connection.credentials);
    const online = res.ok ? res.value > 0 : null;
    if (!res.ok) {
      this.log.warn(
        { chatbotId: connection.chatbotId, kind: res.error.kind, status: res.error.status },
        'crisp operator availability unknown: answering (needs the website:availability scope)',
      );
    }
    if (this.cache.size >= CACHED_WEBSITES_MAX) this.cache.clear();
    this.cache.set(key, { at: now, online });
    return online;
  }
}

/** Why the bot leaves this message to the team now, or null to answer it. */
export async function declineReason(
  chatbot: Chatbot,
  connection: Connection,
  deps: { clock: Clock; availability: OperatorAvailability },
): Promise<DeclineReason | null> {
  switch (chatbot.answerWhen) {
    case 'always':
      return null;
    case 'outside_hours': {
      const hours = chatbot.businessHours;
      const open = hours !== null && withinBusinessHours(hours, new Date(deps.clock.now()));
      return open ? 'outside_hours' : null;
    }
    case 'when_no_operator_online':
      return (await deps.availability.anyOnline(connection)) === true ? 'operator_online' : null;
  }
}
