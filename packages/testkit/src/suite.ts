/**
 * `runTransportSuite`: the one conformance suite every engine passes. It is
 * the specification of Courier's behaviour: adapter-level cases on the
 * Transport SPI first, then behaviour cases through the Bus, then the
 * durability case, and (with COURIER_STRESS=1) the stress variant.
 */
import type { Capabilities, Transport } from '@courier/core';
import { beforeAll, describe, it } from 'vitest';
import { adapterCases } from './adapter-cases.js';
import { deliveryCases } from './delivery-cases.js';
import { failureCases } from './failure-cases.js';
import { Scope, uniqueName } from './helpers.js';
import { keyCases } from './key-cases.js';
import { requestCases } from './request-cases.js';
import { restartCases } from './restart-cases.js';
import { stressCases } from './stress-cases.js';
import type { SuiteCase, TransportSuiteOptions } from './suite-case.js';

/** Every case of the suite, in the order it runs (stress cases only with COURIER_STRESS=1). */
export const suiteCases: readonly SuiteCase[] = [
  ...adapterCases,
  ...deliveryCases,
  ...keyCases,
  ...failureCases,
  ...requestCases,
  ...restartCases,
];

function skipReason(
  c: SuiteCase,
  options: TransportSuiteOptions,
  capabilities: Capabilities,
  engine: string,
): string | undefined {
  const reason = options.skip?.[c.id];
  if (reason !== undefined) return reason;
  const missing = c.needs?.filter((capability) => !capabilities[capability]);
  if (missing && missing.length > 0) return `the ${engine} engine does not declare ${missing.join(', ')}`;
  if (c.needsOption && !options[c.needsOption])
    return `the suite was given no ${c.needsOption} function for ${engine}`;
  return undefined;
}

/**
 * Registers the conformance suite for one engine with Vitest.
 * @param name shown in the test report.
 * @param factory returns a new connection to the engine under test on each call; all share one engine.
 * @param options skips (each with its reason), restart and kill hooks, a time scale.
 */
export function runTransportSuite(
  name: string,
  factory: () => Transport | Promise<Transport>,
  options: TransportSuiteOptions = {},
): void {
  const stress = process.env['COURIER_STRESS'] === '1' || process.env['COURIER_STRESS'] === 'true';
  const cases = stress ? [...suiteCases, ...stressCases] : suiteCases;
  const known = new Set([...suiteCases, ...stressCases].map((c) => c.id));
  for (const id of Object.keys(options.skip ?? {})) {
    if (!known.has(id))
      throw new Error(
        `runTransportSuite(${name}): skip names unknown case ${id}; known: ${[...known].join(', ')}`,
      );
  }
  const scale = options.timeScale ?? 1;

  describe(`transport suite: ${name}`, () => {
    let capabilities: Capabilities;
    let engine = name;
    beforeAll(async () => {
      const probe = await factory();
      capabilities = { ...probe.capabilities };
      engine = probe.engine;
      await probe.close();
    });

    for (const c of cases) {
      // A restart stops and starts the engine's server (RabbitMQ's orderly shutdown and boot take seconds,
      // many more on a busy machine): its case gets more time than one that only moves messages.
      const budget = c.id.startsWith('stress.') ? 300_000 : c.needsOption === 'restart' ? 120_000 : 30_000;
      const timeout = budget * scale;
      it(`[${c.id}] ${c.title}`, { timeout, retry: options.retry ?? 0 }, async (test) => {
        const reason = skipReason(c, options, capabilities, engine);
        if (reason !== undefined) {
          test.skip(reason);
          return;
        }
        const scope = new Scope(factory);
        const prefix = uniqueName('s');
        try {
          await c.run({
            scope,
            capabilities,
            options,
            prefix,
            name: (label) => `${prefix}-${label}`,
            wait: (ms) => ms * scale,
          });
        } finally {
          await scope.close();
        }
      });
    }
  });
}
