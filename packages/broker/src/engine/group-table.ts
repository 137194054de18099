/**
 * The groups the broker engine has open in this process, by group name and
 * subject pattern. A group on one pattern reads every stream that may hold a
 * subject of it, with one cursor (a {@link DurableGroup}) per stream; its
 * members are shared by those cursors. A durable group keeps its state in
 * each stream's group store and stays open until the engine closes; a
 * private one lives in memory and is dropped when its last member detaches.
 */
import {
  type Attachment,
  type AttachOptions,
  CourierError,
  type DeadLetter,
  type DeliverStart,
  type GroupMember,
} from '@courier/core';
import { DurableGroup } from './durable-group.js';
import type { EngineObserver } from './engine-observer.js';
import type { EngineStream } from './engine-stream.js';
import { boundedMember, groupConfigFor, type ResolvedGroupConfig } from './group-config.js';
import { streamsFor } from './stream-config.js';

/** A group as `stats()` shows it. */
export interface GroupStats {
  group: string;
  subject: string;
  durable: boolean;
  /** Members attached now. */
  members: number;
  /** The stream this entry reads (a group whose pattern spans streams has one entry per stream). */
  stream: string;
  /** Messages read and not yet acked or dead-lettered: in memory (up to the read-ahead) or parked. */
  outstanding: number;
}

/** What a {@link GroupTable} opens its groups with. */
export interface GroupTableOptions {
  /** The engine's streams: configured ones in order, `default` last. */
  readonly streams: readonly EngineStream[];
  /** Server-side settings of groups. */
  readonly configs: readonly ResolvedGroupConfig[];
  /** Stores a dead letter; resolves once it is durable. */
  readonly deadLetter: (entry: DeadLetter) => Promise<void>;
  readonly onError: (error: unknown) => void;
  readonly observer: EngineObserver | undefined;
}

/** A group on one pattern: one cursor per stream it reads. */
type GroupParts = DurableGroup[];

/** A group's identity on one pattern: its key in the streams' group stores and in replay headers. */
export function groupKey(group: string, pattern: string): string {
  return JSON.stringify([group, pattern]);
}

/** See the module comment. */
export class GroupTable {
  readonly #options: GroupTableOptions;
  readonly #groups = new Map<string, Promise<GroupParts>>();

  constructor(options: GroupTableOptions) {
    this.#options = options;
  }

  /** Adds `member` to the group (opening it on first use) on every stream it reads. */
  async attach(options: AttachOptions, member: GroupMember): Promise<Attachment> {
    const key = groupKey(options.group, options.subject);
    let opening = this.#groups.get(key);
    if (!opening) {
      opening = this.#open(options, key);
      this.#groups.set(key, opening);
      opening.catch(() => this.#groups.delete(key));
    }
    const parts = await opening;
    const durable = parts[0]?.options.store !== undefined;
    if (durable !== options.durable) {
      throw new CourierError(
        'INVALID_OPTION',
        `group ${options.group} on ${options.subject} is ${options.durable ? 'private' : 'durable'} here; a group is either durable or private, use another name`,
      );
    }
    // One bounded member shared by the group's cursors, so its credit counts across streams.
    const bounded = boundedMember(
      member,
      groupConfigFor(this.#options.configs, options.group, options.subject),
    );
    for (const group of parts) {
      group.dispatcher.members.add(bounded);
      group.pump();
    }
    return {
      detach: () => {
        for (const group of parts) group.dispatcher.detach(bounded);
        if (!options.durable && parts.every((g) => g.dispatcher.members.size === 0)) {
          for (const group of parts) group.dispose();
          this.#groups.delete(key);
        }
      },
    };
  }

  async #open(options: AttachOptions, key: string): Promise<GroupParts> {
    const { streams, deadLetter, onError, observer } = this.#options;
    const parts: GroupParts = [];
    for (const stream of streamsFor(streams, options.subject)) {
      parts.push(
        await DurableGroup.open({
          name: options.group,
          pattern: options.subject,
          schedule: options.schedule,
          orderKeys: options.orderKeys,
          key,
          store: options.durable ? stream.groups : undefined,
          startAfter: await startAfter(stream, options.deliver),
          log: stream.log,
          deadLetter,
          onError,
          onAcked: () => stream.released(),
          ...(observer ? { observer } : {}),
        }),
      );
    }
    if (parts.length > 1) for (const part of parts) part.siblings = parts;
    return parts;
  }

  /** Every group open in this process, one entry per stream it reads. */
  async stats(): Promise<GroupStats[]> {
    const groups: GroupStats[] = [];
    for (const opening of this.#groups.values()) {
      const parts = await opening.catch(() => []);
      for (const group of parts)
        groups.push({
          group: group.options.name,
          subject: group.options.pattern,
          durable: group.options.store !== undefined,
          members: group.dispatcher.members.size,
          stream: group.options.log.options.name,
          outstanding: group.outstanding,
        });
    }
    return groups;
  }

  /** Stops every group (their stored state stays) and forgets them. */
  async close(): Promise<void> {
    for (const opening of this.#groups.values())
      for (const group of await opening.catch(() => [])) group.dispose();
    this.#groups.clear();
  }
}

/** The sequence after which a new group starts on `stream`, by its deliver policy. */
async function startAfter(stream: EngineStream, deliver: DeliverStart): Promise<number> {
  const info = stream.log.info();
  if (deliver === 'new') return info.lastSequence;
  if (deliver === 'all') return info.firstSequence - 1;
  if ('sequence' in deliver)
    return Math.min(Math.max(deliver.sequence, info.firstSequence) - 1, info.lastSequence);
  const found = await stream.log.sequenceAtTime(deliver.time);
  return found === undefined ? info.lastSequence : found - 1;
}
