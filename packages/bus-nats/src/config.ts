import { z } from "zod";
import type { SubjectName } from "@shoal/coordination";
import { ConfigError } from "@shoal/service-kit";
import { durableSubjectNames, isSubjectPrefix } from "./naming.js";

/** A whole number of milliseconds from config or an environment string. */
const ms = (defaultMs: number, minMs: number) => z.coerce.number().int().min(minMs).default(defaultMs);

/** A list given as an array or, from the environment, as one comma-separated string. */
const list = <T extends z.ZodTypeAny>(item: T) =>
  z.union([
    z
      .string()
      .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s !== ""))
      .pipe(z.array(item)),
    z.array(item),
  ]);

const durableNames = durableSubjectNames() as [SubjectName, ...SubjectName[]];

const groupObject = z.object({
  subject: z.enum(durableNames),
  group: z.string().min(1).regex(/^\S+$/, "a queue group has no whitespace"),
});

/** `piece_staged:piece-verifier` from the environment, or `{ subject, group }` from code. */
const declaredGroup = z.union([
  z
    .string()
    .transform((v) => {
      const at = v.indexOf(":");
      return at < 0 ? { subject: v, group: "" } : { subject: v.slice(0, at), group: v.slice(at + 1) };
    })
    .pipe(groupObject),
  groupObject,
]);

/**
 * Config of the NATS bus. Every key has a default that suits production; tests shorten the
 * timeouts and give each case its own stream name and subject prefix.
 */
export const natsBusConfigSchema = z.object({
  /** NATS server URLs (`nats://host:port`); the client moves to another one when its server goes away. */
  servers: list(z.string().min(1))
    .refine((v) => v.length > 0, "at least one server URL")
    .default(["nats://127.0.0.1:4222"]),
  /** Connection name shown in the server's monitoring (`/connz`), so an operator can tell services apart. */
  name: z.string().min(1).default("shoal"),
  /**
   * JetStream stream holding the durable subjects. Several clusters (or test cases) can share a
   * server with different stream names and subject prefixes.
   */
  streamName: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "a stream name is 1-64 letters, digits, '-' or '_'")
    .default("SHOAL"),
  /** Prepended to every subject (`<prefix>.shoal.<infoHash>...`); empty for none. */
  subjectPrefix: z.string().refine(isSubjectPrefix, "dot-separated tokens of letters, digits, '-' or '_'").default(""),
  /**
   * Oldest a stored durable message may get before the stream drops it, unacknowledged or not
   * (0: no limit). A backstop against messages nobody will ever acknowledge (a group that is
   * gone, a delivery cut short by a crash on its last attempt), long enough that no live group
   * falls that far behind: 7 days.
   */
  streamMaxAgeMs: ms(7 * 24 * 3_600_000, 0),
  /** Most bytes the stream stores (-1: no limit); a full stream refuses durable publishes. */
  streamMaxBytes: z.coerce.number().int().min(-1).default(-1),
  /**
   * Oldest a chunk in the bytes stream (`<streamName>_BYTES`: byte fields over the server's
   * `max_payload`, kept apart from their message) may get. The storage-writer drops a piece's
   * chunks once it is done with them; this is the backstop for chunks nobody releases. An hour
   * is far beyond the owner's stuck-piece sweep (5 minutes), after which a piece still waiting
   * for its chunks has been sent back and is downloaded again anyway.
   */
  bytesStreamMaxAgeMs: ms(3_600_000, 1_000),
  /** Most bytes the bytes stream keeps (-1: no limit); past it the oldest chunks go (their pieces are fetched again). */
  bytesStreamMaxBytes: z.coerce.number().int().min(-1).default(-1),
  /**
   * Bytes of chunked messages one durable subscription fetches and hands to handlers at once.
   * `maxInFlight` bounds the messages; this bounds their bytes when pieces are large (up to
   * 256 MiB each). A message that would go over waits, its ack wait kept alive, rather than
   * being handed back: every delivery counts towards the poison limit. One message alone always
   * fits, however large.
   */
  maxChunkedBytesInFlight: z.coerce.number().int().min(1).default(256 * 1024 * 1024),
  /** Stream replicas on a JetStream cluster; 1 on a single server. */
  streamReplicas: z.coerce.number().int().min(1).max(5).default(1),
  /**
   * Queue groups of durable subjects whose consumers are created at connect, as
   * `piece_staged:piece-verifier`. A durable message published while no consumer matches its
   * subject is dropped by the stream; declaring the groups every process expects means a
   * publisher that starts before the group's first member does not lose work.
   */
  groups: list(declaredGroup).default([]),
  /** How long the first connection may take before `connect` fails with BACKEND_UNAVAILABLE. */
  connectTimeoutMs: ms(5_000, 100),
  /**
   * Deadline of each JetStream request: a durable publish waiting for its stored-ack, stream and
   * consumer set-up. It bounds how long a durable publish can hang while the server is gone but
   * the client has not noticed yet.
   */
  requestTimeoutMs: ms(5_000, 100),
  /** Wait between reconnect attempts to the same server. */
  reconnectTimeWaitMs: ms(2_000, 10),
  /** Random extra wait added to each reconnect, so a fleet does not reconnect in lockstep. */
  reconnectJitterMs: ms(500, 0),
  /**
   * Reconnect attempts per server before the connection is given up for good (-1: never give
   * up). A bus that gave up throws BACKEND_UNAVAILABLE until the process restarts it.
   */
  maxReconnectAttempts: z.coerce.number().int().min(-1).default(-1),
  /**
   * Interval of client pings. A server that vanished without closing the socket (a partition, a
   * dead host) is noticed after `maxPingsOut` unanswered pings; the client default of 2 minutes
   * would leave publishes failing only by their deadline for that long.
   */
  pingIntervalMs: ms(20_000, 100),
  /** Unanswered pings before the connection counts as lost. */
  maxPingsOut: z.coerce.number().int().min(1).default(2),
  /** Redelivery delay after a durable handler fails for the first time; it doubles on each failure after that. */
  redeliveryDelayMs: ms(1_000, 0),
  /**
   * Longest redelivery delay. With the default 20 deliveries, 1 s doubling to 60 s keeps a
   * message alive for about 15 minutes of failures (an S3 or Redis outage) before it is dropped.
   */
  maxRedeliveryDelayMs: ms(60_000, 0),
  /**
   * Handlers one durable subscription runs at once, and the batch it pulls. Piece bytes will
   * ride these messages, so this bounds the memory a subscription holds: 8 pieces of a few MiB.
   * A handler that outlives its ack wait stops counting (its message is redelivered anyway).
   */
  maxInFlight: z.coerce.number().int().min(1).max(1_000).default(8),
  /** Unacknowledged messages the server lets one consumer (all members of a group) have out. */
  maxAckPending: z.coerce.number().int().min(1).default(1_000),
  /**
   * Lifetime of each pull request. Half of it is the idle-heartbeat interval: a pull lost with
   * a restarted server is noticed after two missed heartbeats, so this bounds how long a
   * subscriber can stall after an outage the client did not see as a disconnect.
   */
  pullExpiresMs: ms(10_000, 1_000),
  /** How long `close` waits for running handlers so their acknowledgements reach the server. */
  closeTimeoutMs: ms(5_000, 0),
});

/** The config as given: every key optional. */
export type NatsBusConfigInput = z.input<typeof natsBusConfigSchema>;
/** The config with defaults applied. */
export type NatsBusConfig = z.output<typeof natsBusConfigSchema>;

/** Validates and completes a config; throws ConfigError INVALID_CONFIG naming each bad key. */
export function parseNatsBusConfig(input: NatsBusConfigInput = {}): NatsBusConfig {
  const parsed = natsBusConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new ConfigError("INVALID_CONFIG", `invalid NATS bus config: ${issues.join("; ")}`, {
    context: { keys: parsed.error.issues.map((i) => i.path.join(".")) },
  });
}
