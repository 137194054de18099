/**
 * @courier/kafka: the Kafka transport for Courier (`kafka://host:port`),
 * on Confluent's librdkafka-based client.
 */
export type { KafkaTransportOptions } from './kafka-transport.js';
export { createTransport, KafkaTransport, kafkaTransport } from './kafka-transport.js';
export {
  deadLetterTopic,
  MAX_TOPIC_LENGTH,
  patternToSubscription,
  retryTopic,
  subjectToTopic,
  topicToSubject,
} from './topic-names.js';
