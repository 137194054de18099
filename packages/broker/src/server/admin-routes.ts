/**
 * The admin API's routes (docs/admin-api.md): overview, streams, groups,
 * services, dead letters, alerts and topology, as JSON. Each route gets the
 * caller's permissions; `http-admin.ts` authenticates and answers.
 */
import type { IncomingMessage } from 'node:http';
import type { BrokerEngine } from '../engine/broker-engine.js';
import { readJsonBody } from './admin-http.js';
import {
  changeDeadLetters,
  deadLetterTotal,
  engineStreams,
  listDeadLetters,
  streamMessages,
} from './admin-messages.js';
import type { BrokerAlerts } from './alerts.js';
import type { BrokerMetrics } from './broker-metrics.js';
import type { Permissions } from './permissions.js';

/** What every route reads. */
export interface AdminContext {
  engine: BrokerEngine;
  metrics: BrokerMetrics;
  alerts: BrokerAlerts | undefined;
  version: string;
  startedAt: number;
}

/** One request, parsed. */
export interface AdminCall {
  req: IncomingMessage;
  url: URL;
  /** The path's captured parts (`:name`), decoded. */
  params: string[];
  permissions: Permissions;
}

/** One endpoint: method, path pattern and handler returning the JSON body. */
export interface AdminRoute {
  method: 'GET' | 'POST';
  path: RegExp;
  /** As docs show it, for 404 messages. */
  label: string;
  handle(context: AdminContext, call: AdminCall): Promise<unknown> | unknown;
}

/** Records read from the end of each stream to find who publishes what. */
const RECENT_PUBLISHERS = 256;

async function groups(context: AdminContext): Promise<unknown[]> {
  const { engine, metrics } = context;
  return (await engine.stats()).groups.map((g) => {
    const view = metrics.group(g.group, g.subject, g.stream);
    const totals = metrics.groupTotals(g.group);
    return {
      group: g.group,
      subject: g.subject,
      stream: g.stream,
      durable: g.durable,
      members: g.members,
      pending: view?.pending() ?? 0,
      outstanding: view?.outstanding() ?? g.outstanding,
      ...totals,
    };
  });
}

async function topology(context: AdminContext): Promise<unknown> {
  const { engine, metrics } = context;
  const instances = engine.services.list();
  const services = new Map<string, number>();
  for (const i of instances) services.set(i.service, (services.get(i.service) ?? 0) + 1);
  const subjects = new Set(metrics.subjects());
  const edges = new Map<string, { from: string; to: string; kind: string; group?: string }>();
  const edge = (from: string, to: string, kind: string, group?: string): void => {
    subjects.add(to);
    edges.set(JSON.stringify([from, to, kind, group]), { from, to, kind, ...(group ? { group } : {}) });
  };
  for (const i of instances) {
    for (const h of i.handlers) edge(i.service, h, 'handles');
    for (const r of i.requests) edge(i.service, r, 'requests');
    for (const s of i.subscriptions) {
      const space = s.indexOf(' ');
      edge(i.service, s.slice(space + 1), 'subscribes', s.slice(0, space));
    }
  }
  // Publishers are known from the messages themselves: the source of the stream's latest records.
  for (const stream of await engineStreams(engine)) {
    const from = Math.max(stream.firstSequence, stream.lastSequence - RECENT_PUBLISHERS + 1);
    for (const record of (await engine.readStream(stream.name, { from, limit: RECENT_PUBLISHERS })) ?? [])
      if (record.message?.source) edge(record.message.source, record.message.subject, 'publishes');
  }
  return {
    services: [...services].map(([name, n]) => ({ name, instances: n })),
    subjects: [...subjects].sort(),
    groups: [
      ...new Map(
        (await engine.stats()).groups.map((g) => [
          `${g.group} ${g.subject}`,
          { group: g.group, subject: g.subject },
        ]),
      ).values(),
    ],
    edges: [...edges.values()],
  };
}

/** Every endpoint of the admin API except `/healthz`, `/readyz` and `/metrics`. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  {
    method: 'GET',
    path: /^\/api\/overview$/,
    label: 'GET /api/overview',
    async handle({ engine, alerts, version, startedAt }) {
      const stats = await engine.stats();
      const instances = engine.services.list();
      return {
        version,
        uptimeMs: Date.now() - startedAt,
        connections: instances.length,
        streams: (await engineStreams(engine)).length,
        groups: stats.groups.length,
        services: new Set(instances.map((i) => i.service)).size,
        deadLetters: deadLetterTotal(engine),
        alerts: { firing: alerts?.firing ?? 0 },
      };
    },
  },
  {
    method: 'GET',
    path: /^\/api\/streams$/,
    label: 'GET /api/streams',
    async handle({ engine, metrics }) {
      return (await engineStreams(engine)).map((s) => ({
        name: s.name,
        subjects: s.subjects,
        messages: s.messages,
        bytes: s.bytes,
        firstSeq: s.firstSequence,
        lastSeq: s.lastSequence,
        ...metrics.streamTotals(s.name),
      }));
    },
  },
  {
    method: 'GET',
    path: /^\/api\/streams\/([^/]+)\/messages$/,
    label: 'GET /api/streams/:name/messages',
    handle: ({ engine }, { params, url, permissions }) =>
      streamMessages(engine, params[0] as string, url, permissions),
  },
  { method: 'GET', path: /^\/api\/groups$/, label: 'GET /api/groups', handle: groups },
  {
    method: 'GET',
    path: /^\/api\/services$/,
    label: 'GET /api/services',
    handle: ({ engine }) => engine.services.list(),
  },
  {
    method: 'GET',
    path: /^\/api\/dead-letters$/,
    label: 'GET /api/dead-letters',
    handle: (context, { url, permissions }) => listDeadLetters(context, url, permissions),
  },
  {
    method: 'POST',
    path: /^\/api\/dead-letters\/replay$/,
    label: 'POST /api/dead-letters/replay',
    async handle({ engine }, { req, permissions }) {
      return { replayed: await changeDeadLetters(engine, 'replay', await readJsonBody(req), permissions) };
    },
  },
  {
    method: 'POST',
    path: /^\/api\/dead-letters\/discard$/,
    label: 'POST /api/dead-letters/discard',
    async handle({ engine }, { req, permissions }) {
      return { discarded: await changeDeadLetters(engine, 'discard', await readJsonBody(req), permissions) };
    },
  },
  {
    method: 'GET',
    path: /^\/api\/alerts$/,
    label: 'GET /api/alerts',
    handle: ({ alerts }) => alerts?.list() ?? [],
  },
  { method: 'GET', path: /^\/api\/topology$/, label: 'GET /api/topology', handle: topology },
];
