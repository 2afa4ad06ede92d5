/** What the sign-in form needs to know of a server address before it is sent. */

/**
 * Whether `url` is plain `http://` to another machine: the password and records would
 * cross the network unencrypted, so the core refuses it unless the user allows it.
 */
export function unencryptedServer(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return false;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  return parsed.protocol === 'http:' && !loopback;
}
