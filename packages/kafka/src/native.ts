/**
 * Loads `@confluentinc/kafka-javascript`, whose native binding is built from
 * source on machines without its prebuilt download. A missing or broken
 * binding fails with one clear error instead of a stack from deep inside
 * the loader.
 */
import { createRequire } from 'node:module';
import type * as KafkaLibrary from '@confluentinc/kafka-javascript';
import { CourierError } from '@courier/core';

/** The client library's module. */
export type Kafka = typeof KafkaLibrary;

let loaded: Kafka | undefined;

/**
 * The client library, loaded once.
 * @throws CourierError `TRANSPORT_NOT_INSTALLED` when it or its native binding cannot be loaded.
 */
export function kafkaLibrary(): Kafka {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as Kafka;
    return loaded;
  } catch (error) {
    throw new CourierError(
      'TRANSPORT_NOT_INSTALLED',
      `the Kafka client @confluentinc/kafka-javascript or its native binding could not be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); install the build dependencies (apt-get install librdkafka-dev libssl-dev zlib1g-dev libzstd-dev liblz4-dev libsasl2-dev libcurl4-openssl-dev, or run packages/kafka/ci/setup.sh) and rebuild it with CKJS_LINKING=dynamic npm rebuild @confluentinc/kafka-javascript`,
      { cause: error },
    );
  }
}
