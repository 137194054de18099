/**
 * @courier/core: the Bus, contracts, envelope, subjects, codecs, errors,
 * middleware, the Transport SPI and the memory transport.
 */

export type { StandardSchemaV1 } from '@standard-schema/spec';
export { Bus } from './bus.js';
export type {
  BusOptions,
  PublishOptions,
  PublishReceipt,
  RequestOptions,
  SubscribeOptions,
} from './bus-options.js';
export type { CloudEvent, CloudEventHttp } from './cloudevents.js';
export { fromCloudEvent, fromCloudEventHttp, toCloudEvent, toCloudEventHttp } from './cloudevents.js';
export type { Codec, CodecName } from './codec.js';
export { Codecs, jsonCodec, mediaType, msgpackCodec, rawCodec, textCodec } from './codec.js';
export type { ConnectOptions, CreateTransport } from './connect.js';
export { connect, TRANSPORT_PACKAGES, transportFromUrl } from './connect.js';
export type {
  EventContract,
  EventInput,
  EventOutput,
  RequestInput,
  RequestOutput,
  ResponseInput,
  ResponseOutput,
  RpcContract,
  SchemaIssue,
} from './contract.js';
export { event, rpc, validate } from './contract.js';
export type { DeadLetterFallback, DeadLetterFields, DeadLetterHeaderNames } from './dead-letter-headers.js';
export {
  deadLetterFromHeaders,
  deadLetterHeaders,
  MAX_DEAD_LETTER_ERROR_JSON,
} from './dead-letter-headers.js';
export type { DeadLetterEntry, DeadLetters } from './dead-letters.js';
export type { Duration } from './duration.js';
export { optionalMillis, toMillis } from './duration.js';
export type { CourierErrorOptions, ErrorCode, WireError } from './errors.js';
export { CourierError, ErrorCodes, toCourierError } from './errors.js';
export { newId } from './id.js';
export type { Attachment, AttachOptions, GroupMember, LocalEngine } from './local/local-engine.js';
export type { LocalTransportOptions } from './local/local-transport.js';
export { LocalTransport } from './local/local-transport.js';
export type { ResponderEntry } from './local/responder-table.js';
export { ResponderTable } from './local/responder-table.js';
export type { MemoryEngineOptions } from './memory/memory-engine.js';
export { MemoryEngine } from './memory/memory-engine.js';
export type { MemoryTransport, MemoryTransportOptions } from './memory/memory-transport.js';
export { memoryTransport } from './memory/memory-transport.js';
export type { Headers, MessageInfo, RawMessage } from './message.js';
export { assertSize, formatBytes, messageInfo, messageSize, setHeader } from './message.js';
export type { BulkheadOptions } from './middleware/bulkhead.js';
export { bulkhead } from './middleware/bulkhead.js';
export type { CircuitBreakerOptions } from './middleware/circuit-breaker.js';
export { circuitBreaker } from './middleware/circuit-breaker.js';
export type { Call, CallKind, Middleware, Next } from './middleware/compose.js';
export { only, runMiddleware } from './middleware/compose.js';
export type { RetryMiddlewareOptions } from './middleware/retry.js';
export { retry } from './middleware/retry.js';
export { timeout } from './middleware/timeout.js';
export type { MetricsOption, MetricsOptions } from './observability/bus-metrics.js';
export { OTHER_SUBJECTS, PRIVATE_GROUP } from './observability/bus-metrics.js';
export type { LogFn, Logger } from './observability/message-log.js';
export { TRACER_NAME } from './observability/tracing.js';
export type { RequestHandler } from './request-handler.js';
export type { RetryOptions, RetryPolicy } from './retry-policy.js';
export { retryPolicy } from './retry-policy.js';
export { assertSubject, hasWildcards, matchSubject, patternCovers, subjectMatcher } from './subject.js';
export type { CloseOptions, Handler, MessageContext, Subscription } from './subscription.js';
export type {
  Capabilities,
  Capability,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  DeadLetterStore,
  DeliverPolicy,
  DeliverStart,
  Delivery,
  Reply,
  Responder,
  Transport,
} from './transport.js';
