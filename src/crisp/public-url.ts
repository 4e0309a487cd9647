// Whether Crisp can call the webhook URL built from PUBLIC_URL: a warning for the admin if not.

/**
 * Hosts Crisp cannot reach: this machine (the default PUBLIC_URL is http://localhost:$PORT) and
 * the private IPv4 ranges.
 */
const LOCAL_HOST =
  /^(localhost|.+\.localhost|127(\.\d{1,3}){3}|0\.0\.0\.0|\[::1?\]|10(\.\d{1,3}){3}|192\.168(\.\d{1,3}){2}|172\.(1[6-9]|2\d|3[01])(\.\d{1,3}){2})$/i;

/**
 * A plain sentence telling what to set when Crisp cannot use the webhook URL: a local host (the
 * default when PUBLIC_URL is unset) or plain HTTP (Crisp's plugin hooks need HTTPS,
 * docs/notes/crisp.md); null when PUBLIC_URL looks right.
 */
export function publicUrlWarning(publicUrl: string): string | null {
  // A URL: src/config.ts checked it at start.
  const url = new URL(publicUrl);
  const fix =
    'set PUBLIC_URL to the public HTTPS address of this server, restart, and connect again (the key stays the same)';
  if (LOCAL_HOST.test(url.hostname)) {
    return `The webhook URL points at ${url.host}, which Crisp cannot reach (PUBLIC_URL is unset or local): ${fix}.`;
  }
  if (url.protocol !== 'https:') {
    return `The webhook URL is not HTTPS, which Crisp's plugin hooks require: ${fix}.`;
  }
  return null;
}
