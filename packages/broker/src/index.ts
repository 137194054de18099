/**
 * @courier/broker: the durable embedded broker. Its engine runs in your
 * process (`embedded://PATH`) over its storage layer: segmented stream logs
 * with group commit and crash recovery, and durable group state (see
 * `docs/storage.md`). The wire protocol is in `docs/protocol.md`.
 */

export type { CourierTransportOptions } from './client/courier-transport.js';
export { CourierTransport, courierTransport } from './client/courier-transport.js';
export type { BrokerEngineOptions, EngineStats, GroupStats } from './engine/broker-engine.js';
export { BrokerEngine } from './engine/broker-engine.js';
export type { Registration, ServiceInstance } from './engine/service-registry.js';
export { ServiceRegistry } from './engine/service-registry.js';
export type { BrokerServer, BrokerServerOptions } from './server/broker-server.js';
export { startBroker } from './server/broker-server.js';
export type { HttpAdmin } from './server/http-admin.js';
export { startHttpAdmin } from './server/http-admin.js';
export type { TokenGrant } from './server/permissions.js';
export { covers } from './server/permissions.js';
export type { FileLayer, OpenMode, StorageFile } from './storage/file-layer.js';
export { nodeFileLayer } from './storage/file-layer.js';
export type { GroupStateView } from './storage/group-state.js';
export type { GroupStoreOptions } from './storage/group-store.js';
export { GroupStore } from './storage/group-store.js';
export type { GroupRecoveryReport } from './storage/group-store-recovery.js';
export type { RecoveryReport, Truncation } from './storage/recovery.js';
export type { AckView, RetentionLimits, RetentionOutcome, RetentionPolicy } from './storage/retention.js';
export { lowestNeeded } from './storage/retention.js';
export type { ReadRangeOptions, StoredRecord } from './storage/segment-reads.js';
export type { LogFields, StorageLogger } from './storage/storage-logger.js';
export type { AppendInput, AppendResult, StreamLogInfo } from './storage/stream-log.js';
export { StreamLog } from './storage/stream-log.js';
export type { StreamLogOptions } from './storage/stream-log-options.js';
export type { SyncPolicy } from './storage/sync-policy.js';
export { createTransport } from './transport/create-transport.js';
export type { EmbeddedTransport } from './transport/embedded.js';
export { embeddedPath, embeddedTransport, sharedEngine } from './transport/embedded.js';
