/**
 * The conformance suite on the Kafka transport, against librdkafka's mock
 * cluster (a real Kafka-protocol server, in memory). Skips only what the
 * mock lacks.
 */
import type { Transport } from '@courier/core';
import { runTransportSuite } from '@courier/testkit';
import { afterAll, beforeAll } from 'vitest';
import { type KafkaTransport, kafkaTransport } from '../src/index.js';
import { type MockCluster, startMockCluster, testTiming } from './mock-cluster.js';

let cluster: MockCluster;
beforeAll(async () => {
  cluster = await startMockCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

runTransportSuite('kafka', () => kafkaTransport({ brokers: [cluster.bootstrap], ...testTiming }), {
  kill: (transport: Transport) => (transport as KafkaTransport).kill(),
  skip: {
    'engine.restart':
      "librdkafka's mock cluster keeps its log in memory, so a restart empties it; a real Kafka cluster keeps acks=all writes on disk",
  },
  timeScale: 2,
});
