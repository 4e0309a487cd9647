// robots.txt (the rules we follow: docs/notes/ingestion.md, "Politeness and robots.txt"): groups,
// Allow/Disallow with `*` and `$`, longest match wins; plus the non-standard Crawl-delay and the
// Sitemap lines.

type Rule = { allow: boolean; pattern: string; parts: string[]; anchored: boolean };

export type RobotsRules = {
  /** Whether our agent may fetch `url` (path and query are matched). */
  isAllowed(url: string | URL): boolean;
  /** Crawl-delay for our group, in ms (null when absent). */
  crawlDelayMs: number | null;
  sitemaps: string[];
};

const ALLOW_ALL: RobotsRules = { isAllowed: () => true, crawlDelayMs: null, sitemaps: [] };
const DISALLOW_ALL: RobotsRules = { isAllowed: () => false, crawlDelayMs: null, sitemaps: [] };

/** Rules for a robots.txt that could not be read: 4xx → allow all; unreachable → disallow all. */
export const robotsForStatus = (status: number | null): RobotsRules =>
  status !== null && status >= 400 && status < 500 ? ALLOW_ALL : DISALLOW_ALL;

function toRule(allow: boolean, pattern: string): Rule {
  const anchored = pattern.endsWith('$');
  const parts = (anchored ? pattern.slice(0, -1) : pattern).split('*').map(normalise);
  return { allow, pattern, parts, anchored };
}

/**
 * Whether `path` matches a rule: its first part a prefix, the parts between `*`s found each at
 * its leftmost place after the previous one (greedy leftmost is exact for `*`-only patterns),
 * the last one at the very end when the rule ends in `$`. Linear in the path per rule; the
 * regular expression this replaces backtracked exponentially (`Disallow: /*a*a*a…*b` held the
 * process for 15 s on a 40-character path).
 */
function matches(rule: Rule, path: string): boolean {
  const { parts, anchored } = rule;
  const first = parts[0] ?? '';
  if (!path.startsWith(first)) return false;
  let at = first.length;
  if (parts.length === 1) return !anchored || at === path.length;
  for (const part of parts.slice(1, -1)) {
    const found = path.indexOf(part, at);
    if (found < 0) return false;
    at = found + part.length;
  }
  const last = parts[parts.length - 1] ?? '';
  if (anchored) return path.length - last.length >= at && path.endsWith(last);
  return path.indexOf(last, at) >= 0;
}

/** Percent-encodes what needs it and upper-cases escapes, so both sides compare alike. */
function normalise(path: string): string {
  return path
    .replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase())
    .replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

/**
 * Parses robots.txt for `agent`. The most specific matching group wins (a group naming our
 * product token, else `*`); groups naming the same agent are merged (docs/notes/ingestion.md).
 */
export function parseRobots(text: string, agent: string): RobotsRules {
  const groups: { agents: string[]; rules: Rule[]; crawlDelay: number | null }[] = [];
  const sitemaps: string[] = [];
  let current: (typeof groups)[number] | null = null;
  let lastWasAgent = false;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === 'user-agent') {
      if (!current || !lastWasAgent) {
        current = { agents: [], rules: [], crawlDelay: null };
        groups.push(current);
      }
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    if (key === 'sitemap') {
      if (value) sitemaps.push(value);
      continue;
    }
    lastWasAgent = false;
    if (!current) continue;
    if (key === 'allow' || key === 'disallow') {
      // An empty Disallow allows everything; it adds no rule.
      if (!value) continue;
      current.rules.push(toRule(key === 'allow', value));
    } else if (key === 'crawl-delay') {
      const seconds = Number(value);
      if (Number.isFinite(seconds) && seconds >= 0) current.crawlDelay = seconds;
    }
  }
  const token = agent.toLowerCase();
  const mine = groups.filter((g) => g.agents.includes(token));
  const chosen = mine.length > 0 ? mine : groups.filter((g) => g.agents.includes('*'));
  const rules = chosen.flatMap((g) => g.rules);
  const delays = chosen.map((g) => g.crawlDelay).filter((d): d is number => d !== null);
  return {
    sitemaps,
    crawlDelayMs: delays.length > 0 ? Math.max(...delays) * 1000 : null,
    isAllowed(url) {
      const u = new URL(url);
      const path = normalise(`${u.pathname}${u.search}`);
      if (path === '/robots.txt') return true;
      let best: Rule | null = null;
      for (const rule of rules) {
        if (!matches(rule, path)) continue;
        const longer = !best || rule.pattern.length > best.pattern.length;
        // On equal length the least restrictive rule (Allow) wins.
        const tieAllow = best && rule.pattern.length === best.pattern.length && rule.allow;
        if (longer || tieAllow) best = rule;
      }
      return best ? best.allow : true;
    },
  };
}
