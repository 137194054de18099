/**
 * A WebSocket as a Node Duplex of bytes, so the `courier://` protocol runs
 * over it unchanged (one connection implementation on each side). Each
 * binary message is a chunk of the byte stream, so frames may span messages
 * and a message may hold many frames. A text message breaks the protocol: it
 * goes to `onText` (the server answers it with an ERROR frame), and without
 * one the stream fails with `PROTOCOL_ERROR`. Unlike `ws`'s own `createWebSocketStream`,
 * the Duplex emits `close` when the WebSocket closes, and writes report
 * completion only once `ws` handed the bytes to its socket, so
 * `writableLength` counts what is not sent yet (backpressure in bytes).
 */
import { Duplex } from 'node:stream';
import { CourierError } from '@courier/core';
import type { WebSocket } from 'ws';

/** The most bytes one outgoing WebSocket message carries. */
const MESSAGE_BYTES = 1024 * 1024;

/** The error for a text message where binary ones were expected. */
export function textMessageError(): CourierError {
  return new CourierError(
    'PROTOCOL_ERROR',
    'a text WebSocket message arrived; the courier protocol travels in binary messages only',
  );
}

/** Wraps an open or opening WebSocket; the Duplex owns it from now on. */
export function webSocketStream(ws: WebSocket, options: { onText?: () => void } = {}): Duplex {
  ws.binaryType = 'nodebuffer';
  const stream = new Duplex({
    allowHalfOpen: false,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (ws.readyState !== ws.OPEN) {
        callback(new CourierError('CONNECTION_CLOSED', 'the WebSocket is not open'));
        return;
      }
      if (chunk.length === 0) {
        callback();
        return;
      }
      // Big writes go as several messages, so no message outgrows the peer's frame limit.
      for (let at = 0; at < chunk.length; at += MESSAGE_BYTES) {
        const last = at + MESSAGE_BYTES >= chunk.length;
        const piece = chunk.subarray(at, at + MESSAGE_BYTES);
        if (last) ws.send(piece, { binary: true }, (error) => callback(error ?? null));
        else ws.send(piece, { binary: true });
      }
    },
    final(callback) {
      ws.close(1000);
      callback();
    },
    destroy(error, callback) {
      if (ws.readyState === ws.CONNECTING || ws.readyState === ws.OPEN) {
        if (error) ws.terminate();
        else ws.close(1000);
      }
      callback(error);
    },
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (stream.destroyed) return;
    if (!isBinary) {
      if (options.onText) options.onText();
      else stream.destroy(textMessageError());
      return;
    }
    if (!stream.push(data)) ws.pause();
  });
  ws.on('error', (error) => stream.destroy(error));
  ws.on('close', () => {
    if (!stream.destroyed) {
      stream.push(null);
      stream.destroy();
    }
  });
  return stream;
}
