import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  CoordinationError,
  SUBJECTS,
  type Delivery,
  type PieceBus,
  type SubjectName,
  type SubjectPayloads,
  type SubscribeOptions,
  type Subscription,
} from "@shoal/coordination";
import { silentLogger, type Logger } from "@shoal/service-kit";
import { BusCounters, type BusStats } from "./bus-stats.js";
import { ByteBudget } from "./byte-budget.js";
import { BytesStream } from "./bytes-stream.js";
import { ChunkedDeliveries } from "./chunked-deliveries.js";
import { needsChunks, storeByteFields } from "./chunked-fields.js";
import { encodePayload } from "./codec.js";
import { parseNatsBusConfig, type NatsBusConfig, type NatsBusConfigInput } from "./config.js";
import { DurableSubscription } from "./durable-subscription.js";
import { toCoordinationError, unavailable } from "./errors.js";
import { Broadcasts, within } from "./broadcasts.js";
import { presizeSplitPayloads } from "./presized-payloads.js";
import { assertGroup, consumerName, SubjectSpace } from "./naming.js";
import { declareConsumer, ensureConsumer, ensureStream, type ConsumerPlan, type StreamPlan } from "./stream-setup.js";

/** Ack wait of a durable subscription that names none: JetStream's default, as in the memory bus. */
const DEFAULT_ACK_WAIT_MS = 30_000;
/** Deliveries of a durable message before it is dropped as poison, as in the memory bus. */
const DEFAULT_MAX_DELIVERIES = 20;
/**
 * Room a chunk message leaves below the server's `max_payload` for its NATS header (the server
 * counts headers against the limit; ours is under 100 bytes).
 */
const CHUNK_ROOM_BYTES = 4096;
/**
 * The smallest `max_payload` the bus works with. Below it a 16 MiB piece would take hundreds
 * of chunks, each a JetStream publish and two direct gets; nats-server's default is 1 MiB and
 * nobody lowers it that far on purpose.
 */
export const MIN_MAX_PAYLOAD_BYTES = 64 * 1024;

export interface NatsBusDeps {
  /** Receives connection changes, handler failures and dropped poison messages. */
  readonly logger?: Logger;
}

type Handler = (payload: unknown, delivery: Delivery) => Promise<void> | void;

/**
 * The PieceBus of a cluster. Durable subjects (`SUBJECTS[name].durable`) are published to one
 * JetStream stream and consumed through one durable pull consumer per queue group and subject
 * filter; broadcasts are core NATS publish/subscribe, with a queue group when one is given.
 * Calls fail fast with BACKEND_UNAVAILABLE while the client is disconnected; see the README for
 * the stream and consumer layout, the codec and outage behaviour.
 */
export class NatsBus implements PieceBus {
  private readonly subjects: SubjectSpace;
  private readonly bytes: BytesStream;
  private readonly durables = new Set<DurableSubscription>();
  /** Durable subscriptions that were unsubscribed but may still run handlers `close` should wait for. */
  private readonly leaving = new Set<DurableSubscription>();
  private readonly broadcasts: Broadcasts;
  private readonly counters = new BusCounters();
  private connected = true;
  /** Set by `close`, or when the client gave up reconnecting. */
  private down: string | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly config: NatsBusConfig,
    private readonly logger: Logger,
  ) {
    this.subjects = new SubjectSpace(config.subjectPrefix);
    this.broadcasts = new Broadcasts(nc, this.counters, config.requestTimeoutMs, logger);
    this.bytes = new BytesStream(js, jsm, this.subjects, {
      name: `${config.streamName}_BYTES`,
      maxAgeMs: config.bytesStreamMaxAgeMs,
      maxBytes: config.bytesStreamMaxBytes,
      replicas: config.streamReplicas,
      requestTimeoutMs: config.requestTimeoutMs,
    });
  }

  /**
   * Connects, creates or updates the stream and the declared groups' consumers, and returns the
   * bus. Throws ConfigError INVALID_CONFIG for a bad config and CoordinationError
   * BACKEND_UNAVAILABLE (retryable) when no server answers within `connectTimeoutMs`.
   */
  static async connect(input: NatsBusConfigInput = {}, deps: NatsBusDeps = {}): Promise<NatsBus> {
    const config = parseNatsBusConfig(input);
    const logger = (deps.logger ?? silentLogger()).child({ component: "bus-nats" });
    // Piece messages span many socket reads: gather each in one buffer of its size.
    presizeSplitPayloads();
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: config.servers,
        name: config.name,
        timeout: config.connectTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: config.maxReconnectAttempts,
        reconnectTimeWait: config.reconnectTimeWaitMs,
        reconnectJitter: config.reconnectJitterMs,
        pingInterval: config.pingIntervalMs,
        maxPingOut: config.maxPingsOut,
        // Otherwise every request (a JetStream publish of each staged piece is one) makes two
        // Errors up front to carry its call site, just in case it fails: with 16 KiB pieces they
        // were a fifth of what a peer-worker's heap held for long enough to be promoted, and
        // swelled it between full collections. Our errors name their operation instead.
        noAsyncTraces: true,
      });
    } catch (err) {
      throw unavailable("nats.connect", `cannot connect to NATS at ${config.servers.join(", ")}: ${String(err)}`, err);
    }
    let bus: NatsBus | undefined;
    try {
      const jsm = await jetstreamManager(nc, { timeout: config.requestTimeoutMs });
      bus = new NatsBus(nc, jetstream(nc, { timeout: config.requestTimeoutMs }), jsm, config, logger);
      // Watched from before the set-up, so a disconnect during it is not missed.
      bus.watchConnection();
      await bus.setUp();
    } catch (err) {
      if (bus) bus.down = "the bus failed to set up";
      // The set-up error is the one to report; a failure to close on top of it adds nothing.
      await nc.close().catch(() => {});
      throw toCoordinationError(err, "nats.connect", `cannot set up the NATS bus on stream ${config.streamName}`);
    }
    logger.info({ op: "nats.connect", server: nc.getServer(), version: nc.info?.version, stream: config.streamName }, "NATS bus connected");
    return bus;
  }

  /** Connected to a server now (false while reconnecting, and once closed): for health checks. */
  get isConnected(): boolean {
    return this.connected && this.down === undefined;
  }

  /** The server's `max_payload`, as it announced it on connect: what one message may carry. */
  get maxPayloadBytes(): number | undefined {
    return this.nc.info?.max_payload;
  }

  /** Messages published, received, redelivered and dropped since connecting, by subject name (read at scrape time). */
  stats(): BusStats {
    return this.counters.snapshot();
  }

  async publish<S extends SubjectName>(name: S, payload: SubjectPayloads[S]): Promise<void> {
    const durable = SUBJECTS[name].durable;
    const op = durable ? "nats.jetstream.publish" : "nats.publish";
    this.ensureUp(op, `publish ${name}`);
    const subject = this.subjects.subject(name, payload.infoHash);
    if (durable && needsChunks(payload, this.maxPayloadBytes)) return this.publishChunked(name, subject, payload);
    // A durable publish resolves once the server acknowledged the body, so nats.js has copied it
    // by then: it may alias the payload's bytes, built in the room their holder lent in front.
    const body = encodePayload(payload, { intoHeadroom: durable });
    this.checkSize(name, body.byteLength);
    try {
      if (durable) await this.js.publish(subject, body, { timeout: this.config.requestTimeoutMs });
      else this.nc.publish(subject, body);
    } catch (err) {
      throw toCoordinationError(err, op, `publish ${name} to ${subject}`);
    }
    this.counters.onPublished(name);
  }

  /**
   * A durable message whose bytes do not fit in one message: the bytes go to the bytes stream
   * as chunks first, then the message, carrying their stream sequences, to the durable stream.
   * A message that failed leaves no chunks behind (best effort; the rest age out).
   */
  private async publishChunked<S extends SubjectName>(name: S, subject: string, payload: SubjectPayloads[S]): Promise<void> {
    const op = "nats.jetstream.publish";
    const max = this.maxPayloadBytes!;
    if (max < MIN_MAX_PAYLOAD_BYTES) {
      throw new CoordinationError(
        "PAYLOAD_TOO_LARGE",
        `publish ${name}: the server's max_payload of ${max} bytes is below the ${MIN_MAX_PAYLOAD_BYTES} bytes the bus needs to carry bytes in chunks`,
        { context: { op, maxPayloadBytes: max } },
      );
    }
    const { header, refs } = await storeByteFields(payload, (bytes) =>
      this.bytes.put(payload.infoHash, bytes, max - CHUNK_ROOM_BYTES).catch((err: unknown) => {
        throw toCoordinationError(err, op, `publish the chunks of ${name} to ${this.subjects.bytesSubject(payload.infoHash, "*")}`);
      }),
    );
    try {
      const body = encodePayload(header);
      this.checkSize(name, body.byteLength);
      await this.js.publish(subject, body, { timeout: this.config.requestTimeoutMs });
    } catch (err) {
      for (const ref of refs) this.bytes.drop(payload.infoHash, ref.id).catch(() => undefined);
      throw toCoordinationError(err, op, `publish ${name} to ${subject}`);
    }
    this.counters.onPublished(name);
  }

  async subscribe<S extends SubjectName>(
    name: S,
    infoHash: string | "*",
    handler: (payload: SubjectPayloads[S], delivery: Delivery) => Promise<void> | void,
    options: SubscribeOptions = {},
  ): Promise<Subscription> {
    const durable = SUBJECTS[name].durable;
    this.ensureUp(durable ? "nats.consume" : "nats.subscribe", `subscribe to ${name}`);
    if (options.group !== undefined) assertGroup(options.group);
    const subject = this.subjects.subject(name, infoHash);
    if (!durable) return this.broadcasts.subscribe(name, subject, handler as Handler, options.group);
    if (options.group === undefined) {
      throw new CoordinationError("INVARIANT_BROKEN", `durable subject ${name} needs a queue group`);
    }
    return this.subscribeDurable(name, infoHash, subject, handler as Handler, options.group, options);
  }

  /**
   * Stops every subscription, waits up to `closeTimeoutMs` for running handlers (so their
   * acknowledgements are sent), then closes the connection. Later calls throw
   * BACKEND_UNAVAILABLE; a second `close` waits for the first.
   */
  async close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.down ??= "the bus is closed";
    this.broadcasts.stop();
    await Promise.allSettled([...this.durables].map((d) => d.stop()));
    const handlersDone = Promise.allSettled([
      ...this.broadcasts.handlersRunning(),
      ...[...this.durables, ...this.leaving].map((d) => d.settled()),
    ]);
    if (!(await within(handlersDone, this.config.closeTimeoutMs))) {
      this.logger.warn({ op: "nats.close", timeoutMs: this.config.closeTimeoutMs }, "handlers still running at close; their messages will be redelivered");
    }
    this.durables.clear();
    if (!this.nc.isClosed()) {
      // Sends what is buffered (acks above all) before closing, unless the server is gone.
      if (this.connected) await within(this.nc.flush(), this.config.requestTimeoutMs);
      await this.nc.close();
    }
  }

  private async setUp(): Promise<void> {
    const stream: StreamPlan = {
      name: this.config.streamName,
      subjects: this.subjects.durableSubjects(),
      maxAgeMs: this.config.streamMaxAgeMs,
      maxBytes: this.config.streamMaxBytes,
      replicas: this.config.streamReplicas,
    };
    const max = this.maxPayloadBytes;
    if (max !== undefined && max < MIN_MAX_PAYLOAD_BYTES) {
      throw new CoordinationError(
        "INVARIANT_BROKEN",
        `the NATS server's max_payload is ${max} bytes, below the ${MIN_MAX_PAYLOAD_BYTES} the bus needs to carry piece bytes: raise max_payload in the nats-server config (1MB, its default, or more)`,
        { context: { op: "nats.connect", maxPayloadBytes: max } },
      );
    }
    await ensureStream(this.jsm, stream);
    await this.bytes.ensure();
    for (const g of this.config.groups) {
      await declareConsumer(this.jsm, stream.name, this.consumerPlan(g.subject, "*", g.group, {}));
    }
  }

  private consumerPlan(name: SubjectName, infoHash: string | "*", group: string, options: SubscribeOptions): ConsumerPlan {
    return {
      name: consumerName(group, name, infoHash),
      filterSubject: this.subjects.subject(name, infoHash),
      ackWaitMs: options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
      maxDeliveries: options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES,
      maxAckPending: this.config.maxAckPending,
    };
  }

  private async subscribeDurable(
    name: SubjectName,
    infoHash: string | "*",
    subject: string,
    handler: Handler,
    group: string,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const plan = this.consumerPlan(name, infoHash, group, options);
    const recreate = (): Promise<void> => ensureConsumer(this.jsm, this.config.streamName, plan);
    let sub: DurableSubscription;
    try {
      await ensureConsumer(this.jsm, this.config.streamName, plan);
      sub = new DurableSubscription({
        consumer: await this.js.consumers.get(this.config.streamName, plan.name),
        consumerName: plan.name,
        subjectName: name,
        counters: this.counters,
        handler,
        ackWaitMs: plan.ackWaitMs,
        maxDeliveries: plan.maxDeliveries,
        maxInFlight: this.config.maxInFlight,
        pullExpiresMs: this.config.pullExpiresMs,
        redeliveryDelayMs: this.config.redeliveryDelayMs,
        maxRedeliveryDelayMs: this.config.maxRedeliveryDelayMs,
        recreate,
        chunks: new ChunkedDeliveries({
          bytes: this.bytes,
          budget: new ByteBudget(this.config.maxChunkedBytesInFlight),
          releasesBytes: options.releasesBytes === true,
          keepAliveMs: Math.max(100, Math.floor(plan.ackWaitMs / 3)),
          logger: this.logger,
        }),
        bytesLent: options.bytesLent === true,
        logger: this.logger,
      });
      await sub.start();
    } catch (err) {
      throw toCoordinationError(err, "nats.consumer.add", `subscribe ${group} to ${subject}`);
    }
    this.durables.add(sub);
    return {
      unsubscribe: async () => {
        if (!this.durables.delete(sub)) return;
        this.leaving.add(sub);
        await sub.stop();
        void sub.settled().then(() => this.leaving.delete(sub));
      },
    };
  }

  private ensureUp(op: string, what: string): void {
    if (this.down !== undefined) throw unavailable(op, `${what}: ${this.down}`);
    if (!this.connected) throw unavailable(op, `${what}: disconnected from NATS, reconnecting`);
  }

  /**
   * The server closes a connection that sends a message over its `max_payload`, and the client
   * refuses one with a generic error; this names the size and the limit instead. The body is all
   * the bus sends (no headers), so its length is what the server counts.
   */
  private checkSize(name: SubjectName, sizeBytes: number): void {
    const maxPayloadBytes = this.maxPayloadBytes;
    if (maxPayloadBytes !== undefined && sizeBytes > maxPayloadBytes) {
      throw new CoordinationError(
        "PAYLOAD_TOO_LARGE",
        `publish ${name}: the encoded message is ${sizeBytes} bytes, over the server's max_payload of ${maxPayloadBytes} bytes`,
        { context: { op: "nats.publish", sizeBytes, maxPayloadBytes } },
      );
    }
  }

  /** Tracks the connection, so calls fail fast while it is down, and logs each change. */
  private watchConnection(): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === "disconnect") {
          this.connected = false;
          this.logger.warn({ op: "nats.connection", server: s.server }, "disconnected from NATS; reconnecting");
        } else if (s.type === "reconnect") {
          this.connected = true;
          this.logger.info({ op: "nats.connection", server: s.server }, "reconnected to NATS");
        }
      }
    })();
    void this.nc.closed().then((err) => {
      this.connected = false;
      if (this.down === undefined) {
        this.down = `the NATS connection closed for good${err ? ` (${err.message})` : ""}`;
        this.logger.error({ op: "nats.connection", err }, "NATS connection given up; the bus is down until restarted");
      }
    });
  }
}
