/**
 * An admin POST body over the limit gets 413 `PAYLOAD_TOO_LARGE` with
 * `connection: close`: the broker stops reading the body, so that connection
 * cannot carry another request, and a keep-alive client must not try. The
 * next request (on a new connection) works and the server stays up, whether
 * the body declared its length or came chunked.
 */
import { Agent, request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/server/admin-http.js';
import { type Fixture, startFixture } from './admin-fixture.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
}

/** A POST through `agent` (keep-alive), the body sent with a length or chunked. */
function post(agent: Agent, port: number, path: string, body: Buffer, chunked: boolean): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': body.length }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }),
        );
      },
    );
    // The broker may close before the whole body is written: the answer is what counts.
    req.on('error', reject);
    if (chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    } else req.end(body);
  });
}

describe('admin API: oversized bodies', () => {
  for (const chunked of [false, true]) {
    it(`answers 413 with connection: close to a ${chunked ? 'chunked' : 'declared'} body over the limit, and the next request works`, async () => {
      fixture = await startFixture();
      const port = fixture.admin.port;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const big = Buffer.alloc(MAX_BODY_BYTES + 256 * 1024, 0x20);
        const answer = await post(agent, port, '/api/dead-letters/replay', big, chunked);
        expect(answer.status).toBe(413);
        expect(answer.connection).toBe('close');
        expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
        // The same keep-alive agent: it opens a new connection, which works.
        const next = await post(
          agent,
          port,
          '/api/dead-letters/replay',
          Buffer.from(JSON.stringify({ group: 'nobody' })),
          chunked,
        );
        expect(next.status).toBe(200);
        expect(JSON.parse(next.body)).toEqual({ replayed: 0 });
        const health = await fixture.call('/healthz');
        expect(health.status).toBe(200);
      } finally {
        agent.destroy();
      }
    });
  }
});
