/**
 * Tokens and what each may do: publish (and request) on subjects matching
 * its `publish` patterns, subscribe (and serve) on patterns its `subscribe`
 * patterns cover. A bare token string may do everything.
 */
import { CourierError, patternCovers } from '@courier/core';

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
  /** The patterns granted for each right, `undefined` when that right is unlimited (for messages). */
  readonly grants: { publish?: readonly string[]; subscribe?: readonly string[] };
}

const EVERYTHING: Permissions = { canPublish: () => true, canSubscribe: () => true, grants: {} };

/** True when every subject `pattern` matches is also matched by `grant` (core's `patternCovers`). */
export const covers: (grant: string, pattern: string) => boolean = patternCovers;

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
      byToken.set(grant.token, {
        canPublish: rights(grant.publish),
        canSubscribe: rights(grant.subscribe),
        grants: {
          ...(grant.publish ? { publish: grant.publish } : {}),
          ...(grant.subscribe ? { subscribe: grant.subscribe } : {}),
        },
      });
  }
  return (token) => byToken.get(token);
}

/**
 * The `UNAUTHORIZED` error for a right the token lacks, naming the right, the
 * subject and what the token may do instead.
 */
export function unauthorized(
  permissions: Permissions | undefined,
  action: 'publish to' | 'subscribe to' | 'request' | 'serve',
  subject: string,
): CourierError {
  const right = action === 'publish to' || action === 'request' ? 'publish' : 'subscribe';
  const granted = permissions?.grants[right];
  const has =
    granted === undefined || granted.length === 0 ? 'none' : granted.map((g) => JSON.stringify(g)).join(', ');
  return new CourierError(
    'UNAUTHORIZED',
    `this connection's token lacks the ${right} right for ${subject}, so it may not ${action} it (its ${right} patterns: ${has}); grant it in the broker's config (tokens[].${right}) or connect with another token`,
    { data: { subject, right } },
  );
}
