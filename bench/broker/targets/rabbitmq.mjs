// RabbitMQ with its official Node client (amqplib): a durable quorum queue
// (RabbitMQ's recommended durable queue type), persistent messages on a
// confirm channel, a consumer channel with a prefetch of the credit that acks
// each message, and request-reply with direct reply-to
// (`amq.rabbitmq.reply-to`, no reply queue declared).
import amqp from 'amqplib';

const bytesOf = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** RabbitMQ on `url`; queues are named bench-broker-<tag>-<role> and deleted by `close`. */
export function rabbitTarget({ url, tag }) {
  const connections = new Set();
  const queues = new Set();
  let admin;
  const open = async () => {
    const connection = await amqp.connect(url, { noDelay: true });
    connection.on('error', () => undefined); // surfaces as a failed operation instead
    connections.add(connection);
    return connection;
  };
  const shut = async (connection) => {
    connections.delete(connection);
    await connection.close().catch(() => undefined);
  };
  const queueOf = (stream) => `bench-broker-${tag}-${stream}`;
  const target = {
    name: 'RabbitMQ',
    about: {},
    async open() {
      const connection = await open();
      admin = await connection.createChannel();
      const server = connection.connection.serverProperties;
      target.about = {
        version: `RabbitMQ ${server.version} on ${server.platform}`,
        durability:
          'quorum queue (Raft log), persistent messages; the confirm goes out after the Raft WAL is fsynced',
      };
    },
    async publisher(stream) {
      const queue = queueOf(stream);
      await admin.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      queues.add(queue);
      const connection = await open();
      const channel = await connection.createConfirmChannel();
      return {
        publish: (bytes) =>
          new Promise((resolve, reject) =>
            channel.sendToQueue(queue, bytesOf(bytes), { persistent: true }, (error) =>
              error ? reject(error) : resolve(),
            ),
          ),
        close: () => shut(connection),
      };
    },
    async consumer(stream, { credit, onMessage }) {
      // A queue holds what was published before its consumer came, so `fromStart` needs nothing.
      const connection = await open();
      const channel = await connection.createChannel();
      await channel.prefetch(credit);
      await channel.consume(queueOf(stream), (message) => {
        if (message === null) return;
        onMessage(message.content);
        channel.ack(message);
      });
      return { close: () => shut(connection) };
    },
    async rpc(reply) {
      const queue = queueOf('rpc');
      const server = await open();
      const serving = await server.createChannel();
      await serving.assertQueue(queue, { durable: false, autoDelete: true });
      queues.add(queue);
      const answer = bytesOf(reply);
      await serving.consume(
        queue,
        (message) => {
          if (message === null) return;
          const { replyTo, correlationId } = message.properties;
          serving.sendToQueue(replyTo, answer, { correlationId });
        },
        { noAck: true },
      );
      const client = await open();
      const asking = await client.createChannel();
      const waiting = new Map();
      await asking.consume(
        'amq.rabbitmq.reply-to',
        (message) => {
          if (message === null) return;
          const id = message.properties.correlationId;
          waiting.get(id)?.(message.content);
          waiting.delete(id);
        },
        { noAck: true },
      );
      let next = 0;
      return {
        request: (bytes) =>
          new Promise((resolve) => {
            const correlationId = String(next++);
            waiting.set(correlationId, resolve);
            asking.sendToQueue(queue, bytesOf(bytes), {
              replyTo: 'amq.rabbitmq.reply-to',
              correlationId,
            });
          }),
        close: async () => {
          await shut(client);
          await shut(server);
        },
      };
    },
    async close() {
      for (const queue of queues) await admin?.deleteQueue(queue).catch(() => undefined);
      for (const connection of connections) await shut(connection);
    },
  };
  return target;
}
