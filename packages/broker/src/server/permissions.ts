/**
 * Tokens and what each may do: publish (and request) on subjects matching
 * its `publish` patterns, subscribe (and serve) on patterns its `subscribe`
 * patterns cover. A bare token string may do everything.
 */
import { CourierError } from '@courier/core';

/** A token with its grants. Without `publish` or `subscribe`, that right is unlimited. */
export interface TokenGrant {
  token: string;
  publish?: readonly string[];
  subscribe?: readonly string[];
}

/** What one connection may do. */
export interface Permissions {
  canPublish(subject: string): boolean;
  canSubscribe(pattern: string): boolean;
}

const EVERYTHING: Permissions = { canPublish: () => true, canSubscribe: () => true };

/** True when every subject `pattern` matches is also matched by `grant`. */
export function covers(grant: string, pattern: string): boolean {
  const g = grant.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < g.length; i++) {
    const token = g[i];
    if (token === '>') return p.length > i;
    const want = p[i];
    if (want === undefined || want === '>') return false;
    if (token !== '*' && (want === '*' || want !== token)) return false;
  }
  return g.length === p.length;
}

function rights(patterns: readonly string[] | undefined): (subject: string) => boolean {
  if (patterns === undefined) return () => true;
  return (subject) => patterns.some((grant) => covers(grant, subject));
}

/** The permissions of a token, or `undefined` when it is not accepted. No grants at all means no auth. */
export function authorizer(
  grants: readonly (string | TokenGrant)[],
): (token: string) => Permissions | undefined {
  if (grants.length === 0) return () => EVERYTHING;
  const byToken = new Map<string, Permissions>();
  for (const grant of grants) {
    if (typeof grant === 'string') byToken.set(grant, EVERYTHING);
    else
      byToken.set(grant.token, { canPublish: rights(grant.publish), canSubscribe: rights(grant.subscribe) });
  }
  return (token) => byToken.get(token);
}

/** The error for a right the token lacks. */
export function forbidden(
  action: 'publish to' | 'subscribe to' | 'request' | 'serve',
  subject: string,
): CourierError {
  return new CourierError(
    'FORBIDDEN',
    `this connection's token may not ${action} ${subject}; grant it in the broker's config (tokens[].${action === 'publish to' || action === 'request' ? 'publish' : 'subscribe'})`,
    { data: { subject } },
  );
}
