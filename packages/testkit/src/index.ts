/**
 * @courier/testkit: the transport conformance suite and the helpers its
 * cases use, for engines inside and outside this repository.
 */
export { rawMessage } from './adapter-cases.js';
export type { CollectOptions, Seen } from './delivery-cases.js';
export { collect } from './delivery-cases.js';
export type { Deferred } from './helpers.js';
export { Collector, deferred, eventually, Scope, uniqueName, within } from './helpers.js';
export type { OrderChain } from './order-chain.js';
export { startOrderChain } from './order-chain.js';
export type { WaitForPortOptions } from './processes.js';
export { freePort, waitForPort } from './processes.js';
export { runTransportSuite, suiteCases } from './suite.js';
export type { CaseContext, SuiteCase, TransportSuiteOptions } from './suite-case.js';
export type { TcpProxy } from './tcp-proxy.js';
export { startTcpProxy } from './tcp-proxy.js';
