/** Records: every attribute round-trips, clashing header names are escaped, foreign records decode. */
import { describe, expect, it } from 'vitest';
import { fromRecord, toRecord } from './record.js';

describe('record', () => {
  it('round-trips a message with every attribute, as CloudEvents headers', () => {
    const message = {
      id: 'id-1',
      subject: 'orders.created',
      payload: new Uint8Array([0, 1, 255]),
      contentType: 'application/octet-stream',
      headers: { traceparent: 't', 'content-type': 'clash', ce_id: 'clash too' },
      time: 1_700_000_000_123,
      source: 'svc',
      key: 'k',
      deliverAt: 1_700_000_001_000,
    };
    const record = toRecord(message, { attempts: 2, due: 5 });
    expect(record.key?.toString()).toBe('k');
    expect(record.headers).toContainEqual({ ce_type: 'orders.created' });
    const back = fromRecord({ topic: 't', partition: 0, offset: 7, ...record }, 'ignored');
    expect(back.message).toEqual(message);
    expect(back.retry).toEqual({ attempts: 2, due: 5 });
  });

  it('decodes records written by other producers', () => {
    const back = fromRecord(
      { topic: 't', partition: 1, offset: 9, value: Buffer.from('x'), key: Buffer.from('k'), timestamp: 42 },
      'the.subject',
    );
    expect(back.message).toMatchObject({
      id: 't/1/9',
      subject: 'the.subject',
      contentType: 'application/octet-stream',
      time: 42,
      key: 'k',
      headers: {},
    });
    expect(back.retry).toBeUndefined();
  });
});
