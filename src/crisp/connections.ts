// Crisp connections over SQLite, the one owner of `crisp_connections`: credentials sealed at
// rest, health from the last Crisp answer.
import type { Database } from 'bun:sqlite';
import { callsOn, DEFAULT_DAILY_QUOTA } from './api-calls.ts';
import type { CrispCredentials, CrispError, CrispTier } from './client.ts';
import type { ConnectionStatus } from './model.ts';
import { publicUrlWarning } from './public-url.ts';
import { mask, SecretBox } from './secret-box.ts';

type Row = {
  chatbot_id: string;
  website_id: string;
  token_identifier: string;
  token_key_enc: string;
  signing_secret_enc: string | null;
  webhook_secret_enc: string;
  tier: CrispTier;
  healthy: number;
  last_error: string | null;
  last_error_status: number | null;
  last_error_at: string | null;
  last_ok_at: string | null;
  throttled_until: number | null;
  own_user_id: string | null;
  created_at: string;
  updated_at: string;
};

/** A connection with its secrets opened: only ever held in memory, never logged or returned. */
export type Connection = {
  chatbotId: string;
  websiteId: string;
  credentials: CrispCredentials;
  signingSecret: string | null;
  webhookSecret: string;
  /** The user id Crisp put on our own messages (learnt from their echoes), if seen yet. */
  ownUserId: string | null;
};

/** The Crisp events to tick in the hook settings (docs/notes/contract.md, the webhook). */
export const CRISP_EVENTS = [
  'message:send',
  'message:received',
  'message:compose:receive',
  'session:set_state',
  'session:set_routing',
];

/** The URL to paste into Crisp: the secret rides in `key` because Website Hooks are unsigned. */
export function webhookUrl(publicUrl: string, chatbotId: string, webhookSecret: string): string {
  return `${publicUrl}/api/integrations/livechat/crisp/webhook/${encodeURIComponent(chatbotId)}?key=${encodeURIComponent(webhookSecret)}`;
}

/** Beside the masked URL in the status: why it does not work, and how to see the working one. */
export const WEBHOOK_URL_NOTE =
  'The key in webhookUrl is hidden (••••), so this URL does not work as shown. Connect again (PUT …/integrations/crisp with the same credentials) to see the full URL: the key stays the same.';

/** The columns a Connection is made of: while they are unchanged, so is the opened Connection. */
const sameConnection = (a: Row, b: Row) =>
  a.webhook_secret_enc === b.webhook_secret_enc &&
  a.token_key_enc === b.token_key_enc &&
  a.signing_secret_enc === b.signing_secret_enc &&
  a.website_id === b.website_id &&
  a.token_identifier === b.token_identifier &&
  a.tier === b.tier &&
  a.own_user_id === b.own_user_id;

const OPENED_MAX = 1_000;

export class ConnectionStore {
  private readonly box: SecretBox;
  /**
   * Connections already opened, by chatbot: every webhook delivery needs its connection, and
   * opening three sealed values is most of that. The row is still read each time, so a
   * reconnect, a disconnect or a chatbot delete (cascade) is seen at once.
   */
  private readonly opened = new Map<string, { row: Row; connection: Connection }>();

  constructor(
    private readonly db: Database,
    secretKey: string,
  ) {
    this.box = new SecretBox(secretKey);
  }

  private row(chatbotId: string): Row | null {
    return this.db
      .query<Row, [string]>('SELECT * FROM crisp_connections WHERE chatbot_id = ?')
      .get(chatbotId);
  }

  /** The connection with its secrets opened, or null when the chatbot is not connected. */
  get(chatbotId: string): Connection | null {
    const row = this.row(chatbotId);
    if (!row) {
      this.opened.delete(chatbotId);
      return null;
    }
    const hit = this.opened.get(chatbotId);
    if (hit && sameConnection(hit.row, row)) return hit.connection;
    const connection = this.open(row);
    if (this.opened.size >= OPENED_MAX) this.opened.clear();
    this.opened.set(chatbotId, { row, connection });
    return connection;
  }

  /** Opens the sealed values (frozen: every delivery of the chatbot shares the object). */
  private open(row: Row): Connection {
    return Object.freeze({
      chatbotId: row.chatbot_id,
      websiteId: row.website_id,
      credentials: Object.freeze({
        chatbotId: row.chatbot_id,
        websiteId: row.website_id,
        identifier: row.token_identifier,
        key: this.box.open(row.token_key_enc),
        tier: row.tier,
      }),
      signingSecret: row.signing_secret_enc ? this.box.open(row.signing_secret_enc) : null,
      webhookSecret: this.box.open(row.webhook_secret_enc),
      ownUserId: row.own_user_id,
    });
  }

  /**
   * Stores (or replaces) the credentials. A reconnect keeps the webhook secret, so the URL
   * already pasted into Crisp stays valid; a first connect (or one after a disconnect) makes one.
   */
  save(
    chatbotId: string,
    input: { credentials: CrispCredentials; signingSecret: string | null },
    now = new Date(),
  ): Connection {
    const at = now.toISOString();
    const existing = this.row(chatbotId);
    const webhookSecret = existing
      ? this.box.open(existing.webhook_secret_enc)
      : Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
    this.db
      .query(
        `INSERT INTO crisp_connections (chatbot_id, website_id, token_identifier, token_key_enc,
           signing_secret_enc, webhook_secret_enc, tier, healthy, last_ok_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
         ON CONFLICT (chatbot_id) DO UPDATE SET website_id = excluded.website_id,
           token_identifier = excluded.token_identifier, token_key_enc = excluded.token_key_enc,
           signing_secret_enc = excluded.signing_secret_enc, tier = excluded.tier, healthy = 1,
           last_error = NULL, last_error_status = NULL, last_error_at = NULL,
           last_ok_at = excluded.last_ok_at, updated_at = excluded.updated_at`,
      )
      .run(
        chatbotId,
        input.credentials.websiteId,
        input.credentials.identifier,
        this.box.seal(input.credentials.key),
        input.signingSecret ? this.box.seal(input.signingSecret) : null,
        existing ? existing.webhook_secret_enc : this.box.seal(webhookSecret),
        input.credentials.tier,
        at,
        at,
        at,
      );
    return this.get(chatbotId)!;
  }

  /** The chatbot is still connected to this website (a disconnect or chatbot delete removes it). */
  isConnected(chatbotId: string, websiteId: string): boolean {
    return !!this.db
      .query('SELECT 1 FROM crisp_connections WHERE chatbot_id = ? AND website_id = ?')
      .get(chatbotId, websiteId);
  }

  /** Wipes the credentials; true when there were some. */
  remove(chatbotId: string): boolean {
    return (
      this.db.query('DELETE FROM crisp_connections WHERE chatbot_id = ?').run(chatbotId).changes > 0
    );
  }

  status(chatbotId: string, publicUrl: string, now: Date): ConnectionStatus | null {
    const row = this.row(chatbotId);
    if (!row) return null;
    const webhookSecret = this.box.open(row.webhook_secret_enc);
    return {
      connected: true,
      websiteId: row.website_id,
      tier: row.tier,
      tokenIdentifier: mask(row.token_identifier),
      tokenKey: '••••',
      signingSecret: row.signing_secret_enc ? '••••' : null,
      // The key is masked, left unencoded so the bullets show: the URL cannot pass for the
      // working one, which only connect shows.
      webhookUrl: `${webhookUrl(publicUrl, chatbotId, '')}${mask(webhookSecret)}`,
      webhookUrlNote: WEBHOOK_URL_NOTE,
      warning: publicUrlWarning(publicUrl),
      events: CRISP_EVENTS,
      health: {
        healthy: row.healthy === 1,
        lastError: row.last_error,
        lastErrorStatus: row.last_error_status,
        lastErrorAt: row.last_error_at,
        lastOkAt: row.last_ok_at,
        throttledUntil:
          row.throttled_until !== null && row.throttled_until > now.getTime()
            ? new Date(row.throttled_until).toISOString()
            : null,
      },
      crispCalls: {
        ...callsOn(this.db, chatbotId, now),
        defaultDailyQuota: DEFAULT_DAILY_QUOTA[row.tier],
      },
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  /** Records a Crisp failure; 401/403/404 also mark the connection unhealthy. */
  recordError(chatbotId: string, error: CrispError, now = new Date()): void {
    this.db
      .query(
        `UPDATE crisp_connections SET last_error = ?, last_error_status = ?, last_error_at = ?,
           healthy = CASE WHEN ? THEN 0 ELSE healthy END WHERE chatbot_id = ?`,
      )
      .run(
        `${error.kind}: ${error.reason}`,
        error.status,
        now.toISOString(),
        error.unhealthy ? 1 : 0,
        chatbotId,
      );
  }

  /**
   * Crisp refused for quota or rate: unhealthy with that reason, and no call until `until`
   * (the turns wait, src/crisp/turn.ts). The next successful call lifts it.
   */
  throttle(chatbotId: string, error: CrispError, until: number, now = new Date()): void {
    this.db
      .query(
        `UPDATE crisp_connections SET healthy = 0, last_error = ?, last_error_status = ?,
           last_error_at = ?, throttled_until = MAX(COALESCE(throttled_until, 0), ?)
         WHERE chatbot_id = ?`,
      )
      .run(`${error.kind}: ${error.reason}`, error.status, now.toISOString(), until, chatbotId);
  }

  /**
   * Until when Crisp refuses this connection: a time in the past means it refused and has not
   * accepted a call since (compose is then left out); null when the last answer was no refusal.
   */
  throttledUntil(chatbotId: string): number | null {
    return (
      this.db
        .query<{ until: number | null }, [string]>(
          'SELECT throttled_until AS until FROM crisp_connections WHERE chatbot_id = ?',
        )
        .get(chatbotId)?.until ?? null
    );
  }

  /** Remembers the user id Crisp gives our own messages (their compose events carry it too). */
  learnOwnUserId(chatbotId: string, userId: string): void {
    this.db
      .query(
        'UPDATE crisp_connections SET own_user_id = ? WHERE chatbot_id = ? AND own_user_id IS NOT ?',
      )
      .run(userId, chatbotId, userId);
  }

  /** Records a successful Crisp call: healthy again (written only when something changes). */
  recordOk(chatbotId: string, now = new Date()): void {
    this.db
      .query(
        `UPDATE crisp_connections SET healthy = 1, last_ok_at = ?, throttled_until = NULL
         WHERE chatbot_id = ? AND (healthy = 0 OR throttled_until IS NOT NULL
           OR last_ok_at IS NULL OR last_ok_at < ?)`,
      )
      // At most one write a minute on the hot path.
      .run(now.toISOString(), chatbotId, new Date(now.getTime() - 60_000).toISOString());
  }
}
