/**
 * What a conformance case is and what it gets: a scope of connections to the
 * engine under test, unique names, and waits scaled for slower engines.
 */
import type { Capabilities, Capability, Transport } from '@courier/core';
import type { Scope } from './helpers.js';

/** Options of `runTransportSuite`. */
export interface TransportSuiteOptions {
  /** Cases to skip, by id, each with the reason a user would accept. */
  skip?: Readonly<Record<string, string>>;
  /**
   * Restarts the engine, keeping its data. Connections made before are dead
   * afterwards. Without it, the restart case is skipped.
   */
  restart?: () => Promise<void>;
  /**
   * Drops one connection abruptly and for good, as a crashed process would
   * (no drain, no goodbye, and no reconnecting afterwards: the engine must
   * see that member gone). Without it, the dead-member case is skipped.
   */
  kill?: (transport: Transport) => Promise<void> | void;
  /** Multiplies every wait, for engines slower to deliver. Default 1. */
  timeScale?: number;
  /**
   * Runs a failed case again up to this many times. Only for an engine whose
   * own nondeterminism is known and documented (a test broker), never to hide
   * an adapter's bug. Default 0.
   */
  retry?: number;
}

/** What a case runs with. */
export interface CaseContext {
  readonly scope: Scope;
  readonly capabilities: Readonly<Capabilities>;
  readonly options: TransportSuiteOptions;
  /** A subject prefix unique to this case run. */
  readonly prefix: string;
  /** A name unique to this case run, for groups. */
  name(label: string): string;
  /** `ms` scaled by `timeScale`: how long to wait for something that should happen. */
  wait(ms: number): number;
}

/** One conformance case. */
export interface SuiteCase {
  /** Stable id, used in `skip`. */
  readonly id: string;
  readonly title: string;
  /** Capabilities without which the case does not apply. */
  readonly needs?: readonly Capability[];
  /** Suite options without which the case cannot run. */
  readonly needsOption?: 'restart' | 'kill';
  run(ctx: CaseContext): Promise<void>;
}
