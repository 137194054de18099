import { describe, expect, it } from 'vitest';
import { consumerName, groupToken } from './names.js';
import { parseAckSubject } from './nats-delivery.js';
import { optionsFromUrl, resolveOptions } from './options.js';

const VALID_TOKEN = /^[A-Za-z0-9_-]+$/;

describe('names', () => {
  it('makes valid, distinct consumer names from any group and pattern', () => {
    const names = new Set<string>();
    for (const [group, pattern] of [
      ['billing', 'orders.*'],
      ['billing', 'orders.>'],
      ['_private.svc.0190', 'a.b'],
      ['with space/and\\slash', '*.x'],
      ['é', 'a'],
    ] as const) {
      const name = consumerName(group, pattern);
      expect(name).toMatch(VALID_TOKEN);
      names.add(name);
    }
    expect(names.size).toBe(5);
    expect(groupToken('a.b')).toMatch(VALID_TOKEN);
    expect(groupToken('a.b')).not.toBe(groupToken('a_b'));
  });
});

describe('ack subjects', () => {
  it('parses both forms', () => {
    expect(parseAckSubject('$JS.ACK.S.c.3.17.9.1700000000123456789.0')).toEqual({
      stream: 'S',
      consumer: 'c',
      delivered: 3,
      streamSeq: 17,
      storedAt: 1_700_000_000_123,
    });
    expect(parseAckSubject('$JS.ACK.dom.hash.S.c.1.2.3.1700000000000000000.0.tok')).toMatchObject({
      stream: 'S',
      delivered: 1,
      streamSeq: 2,
    });
    expect(parseAckSubject('_INBOX.x')).toBeUndefined();
  });
});

describe('options', () => {
  it('reads a nats:// URL with credentials and options', () => {
    const options = optionsFromUrl(
      new URL('nats://me:secret@nats.local:4333?stream=APP&prefix=app&dedupWindow=5m&replicas=3'),
      {
        queue: 'q',
      },
    );
    expect(options).toMatchObject({
      servers: 'nats://nats.local:4333',
      stream: 'APP',
      prefix: 'app',
      dedupWindow: '5m',
      replicas: 3,
      queue: 'q',
      connection: { user: 'me', pass: 'secret' },
    });
    expect(resolveOptions(options)).toMatchObject({ dedupWindow: 300_000, replicas: 3 });
  });

  it('refuses what NATS cannot take, naming the option', () => {
    expect(() => resolveOptions({ stream: 'a.b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => resolveOptions({ prefix: 'a.*' })).toThrow(/prefix/);
    // Regression: a requestPrefix under a stream's subjects made requests come back as PubAcks.
    for (const requestPrefix of ['shop', 'shop.rpc', 'shop_dlq']) {
      expect(() => resolveOptions({ prefix: 'shop', requestPrefix })).toThrow(/lies under shop(_dlq)?\.>/);
    }
    expect(resolveOptions({ prefix: 'shop', requestPrefix: 'shop_rpc' }).requestPrefix).toBe('shop_rpc');
    expect(() => optionsFromUrl(new URL('nats://h?bogus=1'), {})).toThrow(
      expect.objectContaining({ code: 'INVALID_URL' }),
    );
  });
});
