/**
 * Message data and headers from the command line: data as an argument or
 * on stdin, sent as JSON when it parses as JSON and as text otherwise;
 * headers as repeated `--header name=value`.
 */
import type { CodecName } from '@courier/core';
import { InvalidArgumentError } from 'commander';
import { usageError } from './failures.js';
import { type CliInput, readAll } from './io.js';

/** Data ready for `bus.publish` or `bus.request`, with the codec that keeps it as typed. */
export interface MessageData {
  data: unknown;
  codec: CodecName;
}

/** JSON when `text` parses as JSON, else the text itself (sent as text/plain). */
export function parseData(text: string): MessageData {
  try {
    return { data: JSON.parse(text) as unknown, codec: 'json' };
  } catch {
    return { data: text, codec: 'text' };
  }
}

/**
 * The data of `pub` or `req`: the argument when given, else all of stdin
 * when it is piped. A terminal on stdin and no argument is a usage error
 * (the command would wait for input no one knows to type).
 */
export async function readData(
  argument: string | undefined,
  stdin: CliInput,
  command: string,
): Promise<MessageData> {
  if (argument !== undefined) return parseData(argument);
  if (stdin.isTTY) {
    throw usageError(
      `no data: give it as an argument (courier ${command} orders.created '{"id":1}') or pipe it on stdin`,
    );
  }
  return parseData((await readAll(stdin)).replace(/\r?\n$/, ''));
}

/** Collects repeated `--header name=value` flags (commander's option reducer; a bad one is a usage error). */
export function collectHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  const name = at > 0 ? value.slice(0, at).trim() : '';
  if (name === '') {
    throw new InvalidArgumentError('give name=value, such as --header tenant=acme');
  }
  return { ...previous, [name]: value.slice(at + 1) };
}

/** Shows received data: text as is, anything else as JSON (indented unless `compact`), bytes as base64. */
export function formatData(data: unknown, compact = false): string {
  if (typeof data === 'string') return data;
  if (data instanceof Uint8Array)
    return `<${data.length} bytes, base64 ${Buffer.from(data).toString('base64')}>`;
  return JSON.stringify(data, null, compact ? undefined : 2) ?? String(data);
}

/** Data as JSON can carry it: bytes become `{ base64 }`. */
export function jsonData(data: unknown): unknown {
  return data instanceof Uint8Array ? { base64: Buffer.from(data).toString('base64') } : data;
}
