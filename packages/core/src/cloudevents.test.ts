import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromCloudEvent, fromCloudEventHttp, toCloudEvent, toCloudEventHttp } from './cloudevents.js';
import { jsonCodec } from './codec.js';
import type { RawMessage } from './message.js';

const headerName = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{1,20}$/),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,24}$/),
);
const message = fc.record(
  {
    id: fc.uuid(),
    subject: fc.stringMatching(/^[a-z]{1,6}(\.[a-z0-9]{1,6}){0,3}$/),
    payload: fc.uint8Array({ maxLength: 64 }),
    contentType: fc.constant('application/octet-stream'),
    headers: fc.dictionary(headerName, fc.string({ unit: 'grapheme', maxLength: 20 })),
    time: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    source: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
    key: fc.string({ minLength: 1, maxLength: 10 }),
    deliverAt: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  },
  { requiredKeys: ['id', 'subject', 'payload', 'contentType', 'headers', 'time', 'source'] },
);

function normalise(m: RawMessage): unknown {
  return { ...m, payload: Array.from(m.payload) };
}

describe('CloudEvents 1.0', () => {
  it('structured mode round-trips every message, headers and key included', () => {
    fc.assert(
      fc.property(message, (m) => {
        const wire = JSON.parse(JSON.stringify(toCloudEvent(m)));
        expect(normalise(fromCloudEvent(wire))).toEqual(normalise(m));
      }),
    );
  });

  it('binary HTTP mode round-trips every message', () => {
    fc.assert(
      fc.property(message, (m) => {
        expect(normalise(fromCloudEventHttp(toCloudEventHttp(m)))).toEqual(normalise(m));
      }),
    );
  });

  it('maps attributes as the spec names them, JSON data inline', () => {
    const m: RawMessage = {
      id: 'A234-1234-1234',
      subject: 'orders.created',
      payload: jsonCodec.encode({ id: 'o-1' }),
      contentType: 'application/json',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-tenant': 'acme' },
      time: Date.parse('2018-04-05T17:31:00Z'),
      source: 'orders',
      key: 'o-1',
    };
    expect(toCloudEvent(m)).toEqual({
      specversion: '1.0',
      id: 'A234-1234-1234',
      source: 'orders',
      type: 'orders.created',
      time: '2018-04-05T17:31:00.000Z',
      datacontenttype: 'application/json',
      data: { id: 'o-1' },
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      courierheaders: '{"x-tenant":"acme"}',
      partitionkey: 'o-1',
    });
    const http = toCloudEventHttp(m);
    expect(http.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-type': 'orders.created',
      'content-type': 'application/json',
    });
    expect(http.headers['ce-courierheaders']).toBe('{%22x-tenant%22:%22acme%22}');
  });

  it('reads events from other producers: data as JSON, no time, upper-case headers', () => {
    const event = { specversion: '1.0', id: '1', source: '/sensors/7', type: 'temp.read', data: { c: 21 } };
    const m = fromCloudEvent(event);
    expect(m).toMatchObject({
      id: '1',
      source: '/sensors/7',
      subject: 'temp.read',
      contentType: 'application/json',
    });
    expect(jsonCodec.decode(m.payload)).toEqual({ c: 21 });
    const h = fromCloudEventHttp({
      headers: {
        'CE-SpecVersion': '1.0',
        'CE-ID': '2',
        'CE-Source': 's',
        'CE-Type': 't',
        'Content-Type': 'text/plain',
      },
      body: new Uint8Array([104, 105]),
    });
    expect(h).toMatchObject({ id: '2', subject: 't', contentType: 'text/plain' });
  });

  it('turns a payload that is not the JSON it claims into CODEC_ERROR', () => {
    const bad: RawMessage = {
      id: '1',
      subject: 'a',
      payload: new TextEncoder().encode('{nope'),
      contentType: 'application/json',
      headers: {},
      time: 0,
      source: 's',
    };
    expect(() => toCloudEvent(bad)).toThrow(expect.objectContaining({ code: 'CODEC_ERROR' }));
  });

  it('refuses malformed events with INVALID_MESSAGE naming the attribute', () => {
    expect(() => fromCloudEvent({ specversion: '0.3', id: '1', source: 's', type: 't' })).toThrow(
      /specversion/,
    );
    expect(() => fromCloudEvent({ specversion: '1.0', source: 's', type: 't' })).toThrow(/attribute id/);
    expect(() =>
      fromCloudEvent({ specversion: '1.0', id: '1', source: 's', type: 't', time: 'yesterday' }),
    ).toThrow(/RFC 3339/);
    expect(() => fromCloudEvent('nope')).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
    expect(() =>
      fromCloudEvent({ specversion: '1.0', id: '1', source: 's', type: 't', courierheaders: '[1]' }),
    ).toThrow(/courierheaders/);
    const http = {
      headers: { 'ce-specversion': '1.0', 'ce-id': '%E0%A4%A', 'ce-source': 's', 'ce-type': 't' },
      body: new Uint8Array(),
    };
    expect(() => fromCloudEventHttp(http)).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
  });
});

describe('header names from outside', () => {
  it('keeps a header named __proto__ as a header (regression: it replaced the prototype and vanished)', () => {
    const http = {
      headers: {
        'ce-specversion': '1.0',
        'ce-id': '1',
        'ce-source': 's',
        'ce-type': 't',
        'ce-__proto__': 'x',
      },
      body: new Uint8Array(),
    };
    const message = fromCloudEventHttp(http);
    expect(Object.keys(message.headers)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(message.headers, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(message.headers)).toBe(Object.prototype);
  });
});
