/**
 * Who may call the admin API: the broker's own tokens and grants (the same
 * as the protocol's, see `permissions.ts`). When the broker has tokens,
 * `/api/*` and `/metrics` need `Authorization: Bearer <token>`; reading a
 * subject's messages or a group's dead letters needs the `subscribe` right on
 * it, replaying or discarding needs `publish`. A missing or unknown token and
 * a missing right are all `UNAUTHORIZED` (HTTP 401), the message naming what
 * was missing.
 */
import type { IncomingMessage } from 'node:http';
import { CourierError } from '@courier/core';
import { authorizer, type Permissions, type TokenGrant } from './permissions.js';

/** Checks requests against the broker's tokens. */
export interface AdminAuth {
  /** The caller's permissions; throws `UNAUTHORIZED` when a token is needed and missing or unknown. */
  permissions(req: IncomingMessage): Permissions;
}

/** Auth for `tokens` (none: every request may do everything). */
export function adminAuth(tokens: readonly (string | TokenGrant)[]): AdminAuth {
  const open = authorizer([])('') as Permissions;
  if (tokens.length === 0) return { permissions: () => open };
  const lookup = authorizer(tokens);
  return {
    permissions(req) {
      const header = req.headers.authorization;
      const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match)
        throw new CourierError(
          'UNAUTHORIZED',
          header === undefined
            ? 'this broker wants a token: send the header Authorization: Bearer <token> (one of the tokens in its config)'
            : 'the Authorization header must be "Bearer <token>"; send one of the tokens in the broker\'s config',
        );
      const permissions = lookup(match[1] as string);
      if (!permissions)
        throw new CourierError(
          'UNAUTHORIZED',
          "the token is not accepted by this broker; use one of the tokens in the broker's config (tokens)",
        );
      return permissions;
    },
  };
}

/** Throws `UNAUTHORIZED` unless `permissions` has `right` on `pattern`; `what` says what it was needed for. */
export function requireRight(
  permissions: Permissions,
  right: 'publish' | 'subscribe',
  pattern: string,
  what: string,
): void {
  const ok = right === 'publish' ? permissions.canPublish(pattern) : permissions.canSubscribe(pattern);
  if (!ok)
    throw new CourierError(
      'UNAUTHORIZED',
      `the token lacks the ${right} right for ${pattern}, needed to ${what}; grant it in the broker's config (tokens[].${right}) or use another token`,
      { data: { right, subject: pattern } },
    );
}
