import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsBus, type NatsBusConfigInput } from "@shoal/bus-nats";
import type { PieceBus } from "@shoal/coordination";
import { pieceBusContract } from "@shoal/contract-tests";
import { startNatsServer, type NatsServer } from "@shoal/testkit";

// One nats-server for the file; each case gets its own stream and subject prefix, and teardown
// deletes the stream, which removes its consumers with it.
let server: NatsServer;
let admin: NatsConnection;
let jsm: JetStreamManager;
const streams = new WeakMap<PieceBus, string>();

/**
 * Short deadlines for a loopback server: the cases wait on redeliveries (50 ms after a failure,
 * doubling) and a pull lost in a case would be noticed after 2 s instead of 10.
 */
const FAST: NatsBusConfigInput = {
  requestTimeoutMs: 2_000,
  reconnectTimeWaitMs: 100,
  reconnectJitterMs: 0,
  redeliveryDelayMs: 50,
  maxRedeliveryDelayMs: 200,
  pullExpiresMs: 2_000,
  closeTimeoutMs: 1_000,
};

beforeAll(async () => {
  server = await startNatsServer();
  admin = await connect({ servers: server.url });
  jsm = await jetstreamManager(admin);
});

afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

pieceBusContract({
  name: "NatsBus",
  setup: async () => {
    const id = randomBytes(4).toString("hex");
    const streamName = `CONTRACT_${id}`;
    const bus = await NatsBus.connect({ ...FAST, servers: server.url, streamName, subjectPrefix: `t${id}` });
    streams.set(bus, streamName);
    return bus;
  },
  teardown: async (bus) => {
    await bus.close();
    await jsm.streams.delete(streams.get(bus)!);
  },
});
