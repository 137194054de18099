/**
 * The shapes of the broker's admin API (`docs/admin-api.md` and
 * `packages/broker/src/server/http-admin.ts`), as the dashboard reads them.
 * Fields the dashboard does not use are left out.
 */

export interface Overview {
  version: string;
  uptimeMs: number;
  connections: number;
  streams: number;
  groups: number;
  services: number;
  deadLetters: number;
  alerts: { firing: number };
}

export interface StreamInfo {
  name: string;
  subjects: string[];
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  published: number;
  publishedBytes: number;
}

/** A message's payload: text when it decodes as UTF-8, else base64. */
export type Payload = string | { base64: string };

export interface StoredMessage {
  seq: number;
  time: number | string;
  id: string;
  subject: string;
  key?: string;
  headers: Record<string, string>;
  contentType: string;
  size: number;
  data: Payload;
}

export interface MessagePage {
  messages: StoredMessage[];
  next: number | null;
}

export interface GroupInfo {
  group: string;
  subject: string;
  /** The stream the group reads, on a broker with several. */
  stream?: string;
  durable: boolean;
  members: number;
  pending: number;
  outstanding: number;
  delivered: number;
  acked: number;
  redelivered: number;
  deadLetters: number;
}

export interface ServiceInstance {
  service: string;
  instance: string;
  version?: string;
  client: string;
  address: string;
  since: number | string;
  handlers: string[];
  subscriptions: string[];
  /** Subjects the instance has sent requests on. */
  requests: string[];
}

export interface DeadLetter {
  id: string;
  group: string;
  pattern: string;
  subject: string;
  error: { code: string; message: string };
  attempts: number;
  time: number | string;
  size: number;
  headers: Record<string, string>;
  data: Payload;
}

export interface Alert {
  rule: string;
  kind: string;
  state: 'firing' | 'ok';
  since: number | string;
  value: number;
  message: string;
  labels: Record<string, string>;
}

export type EdgeKind = 'publishes' | 'handles' | 'subscribes' | 'requests';

export interface Topology {
  services: { name: string; instances: number }[];
  subjects: string[];
  groups: { group: string; subject: string }[];
  edges: { from: string; to: string; kind: EdgeKind }[];
}

/** The error body of every failed call. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}
