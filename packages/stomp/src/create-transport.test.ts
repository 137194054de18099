import { describe, expect, it } from 'vitest';
import { optionsFromUrl } from './create-transport.js';

describe('stomp:// URLs', () => {
  it('reads host, port, credentials and query options; connect options win', () => {
    expect(
      optionsFromUrl(
        new URL('stomp://al%40ice:p%3Ass@mq.local:61999?vhost=/prod&heartbeat=500&scheduler=false'),
        {
          maxPayload: 2048,
        },
      ),
    ).toEqual({
      host: 'mq.local',
      port: 61999,
      login: 'al@ice',
      passcode: 'p:ss',
      vhost: '/prod',
      heartbeat: 500,
      scheduler: false,
      maxPayload: 2048,
    });
    expect(optionsFromUrl(new URL('stomp://localhost'))).toEqual({ host: 'localhost', port: 61613 });
  });

  it('uses TLS for stomps:// or when given TLS options', () => {
    expect(optionsFromUrl(new URL('stomps://mq')).tls).toEqual({});
    expect(optionsFromUrl(new URL('stomp://mq'), { tls: { rejectUnauthorized: false } }).tls).toEqual({
      rejectUnauthorized: false,
    });
    expect(optionsFromUrl(new URL('stomp://mq'), { tls: false }).tls).toBeUndefined();
  });

  it('refuses malformed options with INVALID_OPTION', () => {
    expect(() => optionsFromUrl(new URL('stomp://mq?heartbeat=soon'))).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
    expect(() => optionsFromUrl(new URL('stomp://mq?scheduler=maybe'))).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION' }),
    );
  });
});
