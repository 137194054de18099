// NATS with its official clients (@nats-io/transport-node, @nats-io/jetstream):
// JetStream streams on file storage for publish and consume, a durable pull
// consumer with explicit acks, and core NATS request-reply (a queue-group
// subscription that answers with `respond`). Each publish awaits its PubAck
// and carries a Nats-Msg-Id, so the server does the same dedup work that
// Courier does on every publish.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** NATS on `url`; streams are named BENCH_BROKER_<TAG>_<ROLE> and deleted by `close`. */
export function natsTarget({ url, tag }) {
  const connections = new Set();
  const streams = new Set();
  let admin;
  const open = async () => {
    // Without a stack captured per request, as @courier/nats configures it too.
    const nc = await connect({ servers: url, noAsyncTraces: true });
    connections.add(nc);
    return nc;
  };
  const names = (stream) => {
    const name = `BENCH_BROKER_${tag.toUpperCase()}_${stream.toUpperCase()}`;
    return { name, subject: `bench_broker_${tag}.${stream}` };
  };
  const target = {
    name: 'NATS JetStream',
    about: {},
    async open() {
      const nc = await open();
      admin = await jetstreamManager(nc);
      target.about = {
        version: `nats-server ${nc.info?.version}`,
        durability:
          'file storage, 1 replica; PubAck once written to the file store, fsync in the background (server default `sync_interval` 2 min; this server runs with no config file)',
      };
    },
    async publisher(stream) {
      const { name, subject } = names(stream);
      if (!streams.has(name)) {
        await admin.streams.add({
          name,
          subjects: [subject],
          storage: StorageType.File,
          num_replicas: 1,
          duplicate_window: 120e9,
        });
        streams.add(name);
      }
      const nc = await open();
      const js = jetstream(nc);
      let n = 0;
      return {
        publish: (bytes) => js.publish(subject, bytes, { msgID: `${name}-${n++}` }),
        close: async () => {
          connections.delete(nc);
          await nc.close();
        },
      };
    },
    async consumer(stream, { credit, fromStart, onMessage }) {
      const { name, subject } = names(stream);
      await admin.consumers.add(name, {
        durable_name: 'bench',
        ack_policy: AckPolicy.Explicit,
        deliver_policy: fromStart ? DeliverPolicy.All : DeliverPolicy.New,
        filter_subject: subject,
        max_ack_pending: Math.max(credit, 1000),
      });
      const nc = await open();
      const consumer = await jetstream(nc).consumers.get(name, 'bench');
      const messages = await consumer.consume({ max_messages: credit });
      const loop = (async () => {
        for await (const m of messages) {
          onMessage(m.data);
          m.ack();
        }
      })();
      return {
        close: async () => {
          await messages.close();
          await loop;
          connections.delete(nc);
          await nc.close();
        },
      };
    },
    async rpc(reply) {
      const subject = `bench_broker_${tag}_rpc.echo`;
      const server = await open();
      server.subscribe(subject, { queue: 'bench', callback: (error, m) => error || m.respond(reply) });
      await server.flush();
      const client = await open();
      return {
        request: async (bytes) => (await client.request(subject, bytes, { timeout: 10_000 })).data,
        close: async () => {
          for (const nc of [client, server]) {
            connections.delete(nc);
            await nc.close();
          }
        },
      };
    },
    async close() {
      for (const name of streams) await admin?.streams.delete(name).catch(() => undefined);
      for (const nc of connections) await nc.close().catch(() => undefined);
    },
  };
  return target;
}
