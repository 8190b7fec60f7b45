import { randomBytes } from "node:crypto";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNatsServer, type NatsServer } from "@shoal/testkit";
import { NatsBus, type NatsBusConfigInput } from "../src/index.js";

/**
 * Short deadlines for a loopback server: a failed handler's message comes back after 50 ms
 * (doubling to 200 ms), a reconnect is tried every 100 ms, and a pull lost in an outage the
 * client did not notice is replaced after 2 s.
 */
export const FAST: NatsBusConfigInput = {
  requestTimeoutMs: 2_000,
  connectTimeoutMs: 2_000,
  reconnectTimeWaitMs: 100,
  reconnectJitterMs: 0,
  redeliveryDelayMs: 50,
  maxRedeliveryDelayMs: 200,
  pullExpiresMs: 2_000,
  closeTimeoutMs: 1_000,
};

/**
 * One nats-server per test file, an admin connection to look behind the bus's back, and a
 * stream name plus subject prefix per case. `cleanup` closes every bus a case made and deletes
 * its streams (their consumers go with them).
 */
export class NatsFixture {
  server!: NatsServer;
  jsm!: JetStreamManager;
  private admin: NatsConnection | undefined;
  private readonly buses: NatsBus[] = [];
  private readonly streams = new Set<string>();

  /** @param maxPayloadBytes the server's `max_payload` (the test kit's 8 MiB when not given). */
  constructor(private readonly maxPayloadBytes?: number) {}

  async start(): Promise<void> {
    this.server = await startNatsServer(this.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: this.maxPayloadBytes });
    // The admin connection rides out the restarts of the restart tests like the buses do.
    this.admin = await connect({ servers: this.server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    this.jsm = await jetstreamManager(this.admin);
  }

  /** A fresh stream name and subject prefix: the isolation of one case. */
  space(): { streamName: string; subjectPrefix: string } {
    const id = randomBytes(4).toString("hex");
    const streamName = `BUS_${id}`;
    // The bus's second stream, of byte fields carried in chunks, goes with it.
    this.streams.add(streamName).add(`${streamName}_BYTES`);
    return { streamName, subjectPrefix: `t${id}` };
  }

  async bus(config: NatsBusConfigInput): Promise<NatsBus> {
    const bus = await NatsBus.connect({ ...FAST, servers: this.server.url, ...config });
    this.buses.push(bus);
    return bus;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.buses.splice(0).map((b) => b.close()));
    // A stream may be missing: a case that failed to connect never made it, one case deletes it.
    for (const s of this.streams) await this.jsm.streams.delete(s).catch(() => false);
    this.streams.clear();
  }

  async stop(): Promise<void> {
    await this.cleanup();
    await this.admin?.close();
    await this.server?.stop();
  }

  /** Messages the stream holds now: with interest retention, those some group has not settled. */
  async storedMessages(streamName: string): Promise<number> {
    return (await this.jsm.streams.info(streamName)).state.messages;
  }
}

/** A promise a case opens when it is done holding a handler; opening twice is harmless. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open: () => open() };
}

export const randomInfoHash = (): string => randomBytes(20).toString("hex");
