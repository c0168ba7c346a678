// Broker URLs carry credentials (redis://:PASSWORD@host, amqp://user:PASSWORD@host): the only form
// ever shown or logged is the redacted one; the password is kept apart (VS Code SecretStorage).

/** `scheme://user:***@host/…` — the password replaced; URLs without one are returned unchanged. */
export function redactBrokerUrl(url: string): string {
  return splitBrokerUrl(url).password === null ? url : withPassword(splitBrokerUrl(url).url, '***');
}

/** The URL without its password, and the password (null when there is none). */
export function splitBrokerUrl(url: string): { url: string; password: string | null } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*):([^@/]*)@(.*)$/i.exec(url);
  if (!m) return { url, password: null };
  return { url: `${m[1]}${m[2]}@${m[4]}`, password: decodeURIComponent(m[3]) };
}

/** Puts a password back into a URL made by splitBrokerUrl. */
export function withPassword(url: string, password: string | null): string {
  if (password === null) return url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@(.*)$/i.exec(url);
  const pw = password === '***' ? password : encodeURIComponent(password);
  if (m) return `${m[1]}${m[2]}:${pw}@${m[3]}`;
  const s = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(url);
  return s ? `${s[1]}:${pw}@${s[2]}` : url;
}

/** A URL that names a broker Celery knows (the fleet helper checks the rest). */
export function checkBrokerUrl(url: string): string | null {
  if (!/^(redis|rediss|amqp|amqps|pyamqp|sqs|sentinel|memory|filesystem|sqla\+[a-z]+|mongodb|zookeeper|kafka)(\+[a-z]+)?:\/\//i.test(url.trim())) {
    return 'a broker URL looks like redis://host:6379/0 or amqp://user:password@host//';
  }
  return null;
}
