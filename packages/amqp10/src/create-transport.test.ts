import { describe, expect, it } from 'vitest';
import { optionsFromUrl } from './create-transport.js';

describe('amqp10:// URLs', () => {
  it('reads host, port, credentials, vhost and query options', () => {
    expect(
      optionsFromUrl(
        new URL('amqp10://us%40er:p%3Ass@broker:5673/vh?broker=rabbitmq&prefix=app&maxPayload=2048'),
      ),
    ).toEqual({
      tls: false,
      host: 'broker',
      port: 5673,
      username: 'us@er',
      password: 'p:ss',
      vhost: 'vh',
      broker: 'rabbitmq',
      prefix: 'app',
      maxPayload: 2048,
    });
    expect(optionsFromUrl(new URL('amqps10://h'))).toEqual({ tls: true, host: 'h' });
  });

  it('refuses unknown brokers and bad numbers with INVALID_URL', () => {
    expect(() => optionsFromUrl(new URL('amqp10://h?broker=kafka'))).toThrow(
      expect.objectContaining({ code: 'INVALID_URL' }),
    );
    expect(() => optionsFromUrl(new URL('amqp10://h?maxPayload=-1'))).toThrow(
      expect.objectContaining({ code: 'INVALID_URL' }),
    );
    expect(() => optionsFromUrl(new URL('amqp://h'))).toThrow(
      expect.objectContaining({ code: 'INVALID_URL' }),
    );
  });
});
