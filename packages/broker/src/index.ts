/**
 * @courier/broker: the durable embedded broker. Its engine runs in your
 * process (`embedded://PATH`) over its storage layer: segmented stream logs
 * with group commit and crash recovery, and durable group state (see
 * `docs/storage.md`). The wire protocol is in `docs/protocol.md`.
 */

export type { CourierTransportOptions } from './client/courier-transport.js';
export { CourierTransport, courierTransport } from './client/courier-transport.js';
export type { ClientTlsOptions } from './client/link-dialer.js';
export type { BrokerEngineOptions, EngineStats, GroupStats } from './engine/broker-engine.js';
export { BrokerEngine } from './engine/broker-engine.js';
export type { EngineObserver, GroupTrackerOptions, GroupView } from './engine/engine-observer.js';
export { GroupTracker } from './engine/engine-observer.js';
export type { StreamStats } from './engine/engine-stream.js';
export type { GroupConfig } from './engine/group-config.js';
export type { Registration, ServiceInstance } from './engine/service-registry.js';
export { ServiceRegistry } from './engine/service-registry.js';
export type { StreamConfig } from './engine/stream-config.js';
export type { AlertKind, AlertRule, AlertsConfig } from './server/alert-rules.js';
export { checkAlertsConfig } from './server/alert-rules.js';
export type { WebhookAlert, WebhookPayload } from './server/alert-webhook.js';
export type { AlertStatus, BrokerAlertsOptions } from './server/alerts.js';
export { BrokerAlerts } from './server/alerts.js';
export type { BrokerMetricsOptions, GroupTotals } from './server/broker-metrics.js';
export { BrokerMetrics, OTHER_SUBJECT } from './server/broker-metrics.js';
export type {
  BrokerServer,
  BrokerServerOptions,
  BrokerStats,
  BrokerTlsOptions,
} from './server/broker-server.js';
export { startBroker } from './server/broker-server.js';
export type { HttpAdmin, HttpAdminOptions } from './server/http-admin.js';
export { startHttpAdmin } from './server/http-admin.js';
export type { TokenGrant } from './server/permissions.js';
export { covers } from './server/permissions.js';
export type {
  ConnectionAcceptor,
  WebSocketEndpoint,
  WebSocketEndpointOptions,
} from './server/websocket-endpoint.js';
export { attachWebSocket } from './server/websocket-endpoint.js';
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
