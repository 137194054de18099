/**
 * Behaviour cases for request-reply: routing to exactly one handler, no
 * responders, timeouts and late replies, and errors across the wire.
 */
import { CourierError } from '@courier/core';
import { expect } from 'vitest';
import { deferred, within } from './helpers.js';
import type { SuiteCase } from './suite-case.js';

export const requestCases: SuiteCase[] = [
  {
    id: 'rpc.one-handler',
    title: 'a request reaches exactly one of several handlers, spread across them',
    needs: ['request'],
    async run(ctx) {
      const subject = `${ctx.prefix}.rpc`;
      const handledBy: string[] = [];
      for (const name of ['h1', 'h2', 'h3']) {
        const bus = await ctx.scope.bus();
        await bus.handle(subject, (n: number) => {
          handledBy.push(name);
          return { n, by: name };
        }).ready;
      }
      const caller = await ctx.scope.bus();
      const replies: Array<{ n: number; by: string }> = [];
      for (let n = 0; n < 30; n++)
        replies.push(await caller.request(subject, n, { timeout: ctx.wait(5000) }));
      expect(replies.map((r) => r.n)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(handledBy).toHaveLength(30);
      for (const name of ['h1', 'h2', 'h3']) expect(handledBy).toContain(name);
    },
  },
  {
    id: 'rpc.no-responders',
    title: 'NO_RESPONDERS comes at once when no handler is registered, not after the timeout',
    needs: ['request'],
    async run(ctx) {
      const caller = await ctx.scope.bus();
      const request = caller.request(`${ctx.prefix}.nobody`, 1, { timeout: ctx.wait(30_000) });
      // Well before the 30 s timeout, with room for a busy machine: a request that waited for its timeout
      // would fail here (and with TIMEOUT, not NO_RESPONDERS).
      await expect(
        within(request, ctx.wait(10_000), 'NO_RESPONDERS well before the timeout'),
      ).rejects.toMatchObject({
        code: 'NO_RESPONDERS',
        retryable: true,
      });
    },
  },
  {
    id: 'rpc.timeout',
    title: 'TIMEOUT when the handler is slower; its late reply is dropped',
    needs: ['request'],
    async run(ctx) {
      const subject = `${ctx.prefix}.slow`;
      const server = await ctx.scope.bus();
      const release = deferred();
      const slowDone = deferred();
      await server.handle(subject, async (n: number) => {
        if (n === 1) {
          await release.promise;
          slowDone.resolve();
        }
        return n;
      }).ready;
      const caller = await ctx.scope.bus();
      await expect(caller.request(subject, 1, { timeout: 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      release.resolve();
      await slowDone.promise;
      await expect(caller.request(subject, 2, { timeout: ctx.wait(5000) })).resolves.toBe(2);
    },
  },
  {
    id: 'rpc.errors',
    title:
      "a handler's CourierError reaches the caller with code, message, data and retryable; a plain Error as HANDLER_ERROR",
    needs: ['request'],
    async run(ctx) {
      const subject = `${ctx.prefix}.fails`;
      const server = await ctx.scope.bus();
      await server.handle(subject, (kind: string) => {
        if (kind === 'courier')
          throw new CourierError('OUT_OF_STOCK', 'sku A is out of stock', {
            data: { sku: 'A' },
            retryable: true,
          });
        throw new TypeError('cannot read properties of undefined');
      }).ready;
      const caller = await ctx.scope.bus();
      const typed = await caller
        .request(subject, 'courier', { timeout: ctx.wait(5000) })
        .catch((e: unknown) => e);
      expect(typed).toBeInstanceOf(CourierError);
      expect(typed).toMatchObject({
        code: 'OUT_OF_STOCK',
        message: 'sku A is out of stock',
        data: { sku: 'A' },
        retryable: true,
      });
      const plain = await caller
        .request(subject, 'plain', { timeout: ctx.wait(5000) })
        .catch((e: unknown) => e);
      expect(plain).toMatchObject({
        code: 'HANDLER_ERROR',
        message: 'cannot read properties of undefined',
        retryable: false,
      });
    },
  },
];
