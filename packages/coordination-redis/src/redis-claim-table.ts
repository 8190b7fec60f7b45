import type { Redis } from "ioredis";
import {
  CoordinationError,
  addAvailabilityBytes,
  availabilityBytes,
  PIECE_STATE_CODE,
  PIECE_STATES,
  peerWorkerPresenceKey,
  torrentKeys,
  type Claim,
  type ClaimTable,
  type JobStart,
  type KnownPeer,
  type PeerGrant,
  type PieceCounts,
  type PieceRecord,
  type PieceState,
  type RejectOutcome,
  type ReleasePeersOptions,
  type TransitionResult,
} from "@shoal/coordination";
import { loadConfig } from "@shoal/service-kit";
import { redisConfigSchema, type RedisConfigInput } from "./config.js";
import { RedisConnection } from "./connection.js";
import type { LuaScript, ScriptName } from "./lua-scripts.js";
import { decodePieces, pieceRecord, stateOfCode } from "./piece-records.js";
import { resultOf, SCRIPT_CODES } from "./script-codes.js";
import { defineScripts, runScript, type ScriptArg } from "./script-runner.js";

/** startJob-7.lua's second reply value, by what it did. */
const JOB_START_BY_CODE: readonly JobStart[] = ["kept", "created", "rebuilt"];

export interface RedisClaimTableOptions {
  /**
   * Milliseconds for leases. Leave it out in production: leases then run on the Redis server's
   * clock (`TIME` inside the scripts), so the workers' clock skew does not matter. Tests pass a
   * fake clock so leases lapse exactly when a case says, without waiting.
   */
  readonly clock?: () => number;
}

type TorrentKeys = ReturnType<typeof torrentKeys>;

/**
 * The ClaimTable of a cluster: every method is one Lua script (or one HGETALL) on the torrent's
 * keys, all under its hash tag, so each is atomic and a Redis Cluster can hold the table.
 * Methods throw CoordinationError UNKNOWN_TORRENT, PIECE_OUT_OF_RANGE and, when Redis is down or
 * unreachable, BACKEND_UNAVAILABLE (retryable); the adapter reconnects on its own.
 */
export class RedisClaimTable implements ClaimTable {
  private readonly connection: RedisConnection;
  private readonly scripts: ReadonlyMap<ScriptName, LuaScript>;
  private readonly prefix: string;

  constructor(
    config: RedisConfigInput = {},
    private readonly options: RedisClaimTableOptions = {},
  ) {
    const parsed = loadConfig(redisConfigSchema, { prefix: "redis", overrides: config });
    this.prefix = parsed.prefix;
    this.connection = new RedisConnection(parsed);
    this.scripts = defineScripts(this.connection.client);
  }

  /** The connection to Redis is up now: for health checks. */
  get isConnected(): boolean {
    return this.connection.client.status === "ready";
  }

  async createTorrent(infoHash: string, pieceCount: number, stored: Iterable<number>, skipped: Iterable<number> = []): Promise<void> {
    if (!Number.isInteger(pieceCount) || pieceCount < 0) {
      throw new CoordinationError("PIECE_OUT_OF_RANGE", `piece count ${pieceCount} of torrent ${infoHash} is not a count`, {
        context: { infoHash, pieceCount },
      });
    }
    const k = this.keys(infoHash);
    // The states string is built here (stored wins over skipped, as in the memory table) and the
    // script tallies the counts from it; a bad index fails before anything is written.
    const states = Buffer.alloc(pieceCount, PIECE_STATE_CODE.missing);
    try {
      for (const i of skipped) states[checkIndex(infoHash, i, pieceCount)] = PIECE_STATE_CODE.skipped;
      for (const i of stored) states[checkIndex(infoHash, i, pieceCount)] = PIECE_STATE_CODE.stored;
    } catch (err) {
      // A second call keeps the first table without looking at its arguments, as the memory
      // table does; only a call that would create the table fails on a bad index.
      const exists = await this.connection.run("redis.createTorrent", infoHash, (client) => client.exists(k.counts));
      if (exists === 1) return;
      throw err;
    }
    await this.call("redis.createTorrent", "createTorrent", infoHash, [k.counts, k.states], [states]);
  }

  async startJob(infoHash: string, jobId: string, pieceCount: number, stored: Iterable<number>, skipped: Iterable<number> = []): Promise<JobStart> {
    if (!Number.isInteger(pieceCount) || pieceCount < 0) {
      throw new CoordinationError("PIECE_OUT_OF_RANGE", `piece count ${pieceCount} of torrent ${infoHash} is not a count`, {
        context: { infoHash, pieceCount },
      });
    }
    const k = this.keys(infoHash);
    // Built here, as for createTorrent; the script keeps the table without looking at it when
    // the same job started it.
    const states = Buffer.alloc(pieceCount, PIECE_STATE_CODE.missing);
    try {
      for (const i of skipped) states[checkIndex(infoHash, i, pieceCount)] = PIECE_STATE_CODE.skipped;
      for (const i of stored) states[checkIndex(infoHash, i, pieceCount)] = PIECE_STATE_CODE.stored;
    } catch (err) {
      // As the memory table: a kept table is kept whatever the arguments say.
      const job = await this.connection.run("redis.startJob", infoHash, (client) => client.get(k.job));
      if (job === jobId && (await this.connection.run("redis.startJob", infoHash, (client) => client.exists(k.counts))) === 1) return "kept";
      throw err;
    }
    const { reply } = await this.call("redis.startJob", "startJob", infoHash, [...this.pieceKeys(infoHash), k.job], [jobId, states]);
    return JOB_START_BY_CODE[Number(reply[1])]!;
  }

  async deleteTorrent(infoHash: string): Promise<void> {
    const k = this.keys(infoHash);
    const keys = [
      ...[k.counts, k.states, k.attempts, k.holders, k.held, k.leases, k.strikes, k.banned],
      ...[k.peerOwners, k.freePeers, k.ownedPeers, k.peerWorkers, k.job, k.availability],
    ];
    await this.call("redis.deleteTorrent", "deleteTorrent", infoHash, keys, []);
  }

  async heartbeat(infoHash: string, workerId: string, ttlMs: number): Promise<void> {
    const k = this.keys(infoHash);
    await this.call("redis.heartbeat", "refreshLease", infoHash, [k.counts, k.leases], [workerId, String(ttlMs), this.now()]);
  }

  async claim(infoHash: string, workerId: string, candidates: readonly number[], max: number): Promise<Claim[]> {
    // The memory table stops once it holds `max` claims, so a fractional max takes its ceiling
    // and NaN never stops it; the script gets that as a whole number.
    const limit = Number.isNaN(max) ? candidates.length : Math.max(0, Math.min(Math.ceil(max), candidates.length));
    const args = [workerId, String(limit), ...candidates.map(String)];
    const reply = await this.raw("redis.claim", "claimPieces", infoHash, this.pieceKeys(infoHash, "leases"), args);
    // On PIECE_OUT_OF_RANGE the reply names the position of the first bad candidate.
    const bad = reply[0] === SCRIPT_CODES.PIECE_OUT_OF_RANGE ? candidates[Number(reply[2])] : undefined;
    resultOf(reply[0], { op: "redis.claim", infoHash, ...(bad === undefined ? {} : { piece: bad }) }, reply.slice(1));
    return pairs(reply).map(([piece, attempt]) => ({ piece, attempt }));
  }

  async release(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult> {
    return this.transition("redis.release", "releasePiece", infoHash, claim, [workerId]);
  }

  async stage(infoHash: string, workerId: string, claim: Claim): Promise<TransitionResult> {
    const args = [workerId, String(claim.piece), String(claim.attempt)];
    return (await this.call("redis.stage", "stagePiece", infoHash, this.pieceKeys(infoHash, "leases"), args, claim.piece)).result;
  }

  async verify(infoHash: string, claim: Claim): Promise<TransitionResult> {
    return this.transition("redis.verify", "verifyPiece", infoHash, claim);
  }

  async reject(infoHash: string, claim: Claim, blamedPeers: readonly string[]): Promise<RejectOutcome> {
    const keys = this.pieceKeys(infoHash, "strikes", "banned");
    const args = [String(claim.piece), String(claim.attempt), ...blamedPeers];
    const { result, reply } = await this.call("redis.reject", "rejectPiece", infoHash, keys, args, claim.piece);
    return { result, banned: result === "ok" ? reply.slice(1).map(String) : [] };
  }

  async store(infoHash: string, claim: Claim): Promise<TransitionResult> {
    return this.transition("redis.store", "storePiece", infoHash, claim);
  }

  async unstage(infoHash: string, claim: Claim): Promise<TransitionResult> {
    return this.transition("redis.unstage", "unstagePiece", infoHash, claim);
  }

  async expireWorkers(infoHash: string): Promise<number> {
    const keys = this.pieceKeys(infoHash, "leases", "banned", "peerOwners", "freePeers", "ownedPeers", "peerWorkers", "availability");
    const { reply } = await this.call("redis.expireWorkers", "expireWorkers", infoHash, keys, [this.now()]);
    return Number(reply[1]);
  }

  async claimedBy(infoHash: string, excludeWorker?: string): Promise<Claim[]> {
    const k = this.keys(infoHash);
    const args = excludeWorker === undefined ? ["0", ""] : ["1", excludeWorker];
    const { reply } = await this.call("redis.claimedBy", "listClaims", infoHash, [k.counts, k.states, k.attempts, k.holders], args);
    // In piece order, as the memory table lists them; the holders hash has no order of its own.
    return pairs(reply)
      .map(([piece, attempt]) => ({ piece, attempt }))
      .sort((a, b) => a.piece - b.piece);
  }

  async counts(infoHash: string): Promise<PieceCounts> {
    const key = this.keys(infoHash).counts;
    const fields = await this.connection.run("redis.counts", infoHash, (client) => client.hgetall(key));
    // The counts hash exists exactly while the torrent does, with all six fields.
    if (Object.keys(fields).length === 0) resultOf(SCRIPT_CODES.UNKNOWN_TORRENT, { op: "redis.counts", infoHash });
    const counts = {} as Record<PieceState, number>;
    for (const state of PIECE_STATES) counts[state] = Number(fields[state] ?? 0);
    return counts;
  }

  async piece(infoHash: string, index: number): Promise<PieceRecord> {
    const k = this.keys(infoHash);
    const keys = [k.counts, k.states, k.attempts, k.holders];
    const { reply } = await this.call("redis.piece", "getPiece", infoHash, keys, [String(index)], index);
    const holder = reply[3];
    return pieceRecord(stateOfCode(Number(reply[1]), infoHash, index), Number(reply[2]), typeof holder === "string" ? holder : undefined);
  }

  async pieces(infoHash: string): Promise<PieceRecord[]> {
    const k = this.keys(infoHash);
    const keys = [k.counts, k.states, k.attempts, k.holders];
    const { reply } = await this.call("redis.pieces", "getPieces", infoHash, keys, [], undefined, true);
    return decodePieces(infoHash, reply[1] as Buffer, (reply[2] as Buffer | null) ?? null, reply[3] as Buffer[]);
  }

  async piecesIn(infoHash: string, state: PieceState): Promise<number[]> {
    const k = this.keys(infoHash);
    const { reply } = await this.call("redis.piecesIn", "getStates", infoHash, [k.counts, k.states], [], undefined, true);
    const states = reply[1] as Buffer;
    const code = PIECE_STATE_CODE[state];
    const out: number[] = [];
    for (let i = states.indexOf(code); i >= 0; i = states.indexOf(code, i + 1)) out.push(i);
    return out;
  }

  async isBanned(infoHash: string, peer: string): Promise<boolean> {
    const k = this.keys(infoHash);
    const { reply } = await this.call("redis.isBanned", "checkBanned", infoHash, [k.counts, k.banned], [peer]);
    return reply[1] === 1;
  }

  async bannedPeers(infoHash: string): Promise<string[]> {
    const k = this.keys(infoHash);
    const { reply } = await this.call("redis.bannedPeers", "listBanned", infoHash, [k.counts, k.banned], []);
    return reply.slice(1).map(String);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  async hold(infoHash: string, workerId: string, claims: readonly Claim[]): Promise<TransitionResult[]> {
    const args = [workerId, ...claims.flatMap((c) => [String(c.piece), String(c.attempt)])];
    const reply = await this.raw("redis.hold", "holdPieces", infoHash, this.pieceKeys(infoHash, "leases"), args);
    // On PIECE_OUT_OF_RANGE the reply names the position of the first bad claim.
    const bad = reply[0] === SCRIPT_CODES.PIECE_OUT_OF_RANGE ? claims[Number(reply[2])]?.piece : undefined;
    resultOf(reply[0], { op: "redis.hold", infoHash, ...(bad === undefined ? {} : { piece: bad }) }, reply.slice(1));
    return claims.map((c, j) => resultOf(reply[j + 1], { op: "redis.hold", infoHash, piece: c.piece }));
  }

  async expireLeases(infoHash: string): Promise<Claim[]> {
    const keys = this.pieceKeys(infoHash, "leases", "banned", "peerOwners", "freePeers", "ownedPeers", "peerWorkers", "availability");
    const { reply } = await this.call("redis.expireLeases", "expireWorkers", infoHash, keys, [this.now()]);
    // In piece order, as the memory table lists them; held sets have no order of their own.
    return pairs(reply.slice(1))
      .map(([piece, attempt]) => ({ piece, attempt }))
      .sort((a, b) => a.piece - b.piece);
  }

  private keys(infoHash: string): TorrentKeys {
    return torrentKeys(this.prefix, infoHash);
  }

  /** The five keys every piece script takes first (lua/includes/pieceTable.lua), then `extra`. */
  private pieceKeys(
    infoHash: string,
    ...extra: ("leases" | "strikes" | "banned" | "peerOwners" | "freePeers" | "ownedPeers" | "peerWorkers" | "availability")[]
  ): string[] {
    const k = this.keys(infoHash);
    return [k.counts, k.states, k.attempts, k.holders, k.held, ...extra.map((name) => k[name])];
  }

  /** The lease clock's ARGV: the injected time, or '' for the Redis server's clock. */
  private now(): string {
    return this.options.clock === undefined ? "" : String(this.options.clock());
  }

  private async transition(op: string, name: ScriptName, infoHash: string, claim: Claim, before: string[] = []): Promise<TransitionResult> {
    const args = [...before, String(claim.piece), String(claim.attempt)];
    return (await this.call(op, name, infoHash, this.pieceKeys(infoHash), args, claim.piece)).result;
  }

  /** Runs a script and decodes its code: refusals come back as the result, errors are thrown. */
  private async call(
    op: string,
    name: ScriptName,
    infoHash: string,
    keys: string[],
    args: ScriptArg[],
    piece?: number,
    buffers = false,
  ): Promise<{ result: TransitionResult; reply: unknown[] }> {
    const reply = await this.raw(op, name, infoHash, keys, args, buffers);
    return { result: resultOf(reply[0], { op, infoHash, ...(piece === undefined ? {} : { piece }) }, reply.slice(1)), reply };
  }

  private raw(op: string, name: ScriptName, infoHash: string | undefined, keys: string[], args: ScriptArg[], buffers = false): Promise<unknown[]> {
    return this.connection.run(op, infoHash, (client: Redis) => runScript(client, this.scripts, name, keys, args, buffers));
  }

  async claimPeers(infoHash: string, workerId: string, peers: readonly string[], max: number): Promise<PeerGrant> {
    const k = this.keys(infoHash);
    // As the memory table reads it: a fraction is its floor, NaN and negatives none, and no
    // limit at all is bounded by the share anyway.
    const limit = max > 0 ? Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER) : 0;
    const keys = [k.counts, k.leases, k.banned, k.peerOwners, k.freePeers, k.ownedPeers, k.peerWorkers];
    const { reply } = await this.call("redis.claimPeers", "claimPeers", infoHash, keys, [workerId, String(limit), this.now(), ...peers]);
    return { peers: reply.slice(3).map(String), share: Number(reply[1]), liveWorkers: Number(reply[2]) };
  }

  async peerWorkerPresence(workerId: string, ttlMs: number): Promise<number> {
    // As the memory table reads it: anything but a positive ttl removes the worker.
    const ttl = ttlMs > 0 ? Math.min(Math.ceil(ttlMs), Number.MAX_SAFE_INTEGER) : 0;
    const keys = [peerWorkerPresenceKey(this.prefix)];
    const reply = await this.raw("redis.peerWorkerPresence", "refreshPresence", undefined, keys, [workerId, String(ttl), this.now()]);
    // The script can only answer ok; anything else means it and this adapter are out of step.
    if (reply[0] !== SCRIPT_CODES.ok) {
      throw new CoordinationError("INVARIANT_BROKEN", `refreshPresence answered ${JSON.stringify(reply)}`, { context: { op: "redis.peerWorkerPresence" } });
    }
    return Number(reply[1]);
  }

  async releasePeers(infoHash: string, workerId: string, peers: readonly string[], options: ReleasePeersOptions = {}): Promise<number> {
    const k = this.keys(infoHash);
    const keys = [k.counts, k.banned, k.peerOwners, k.freePeers, k.ownedPeers];
    const args = [workerId, options.forget === true ? "1" : "0", ...peers];
    const { reply } = await this.call("redis.releasePeers", "releasePeers", infoHash, keys, args);
    return Number(reply[1]);
  }

  async knownPeers(infoHash: string): Promise<KnownPeer[]> {
    const k = this.keys(infoHash);
    const { reply } = await this.call("redis.knownPeers", "listPeers", infoHash, [k.counts, k.peerOwners, k.freePeers], []);
    const owners = (reply[1] as unknown[]).map(String);
    const out: KnownPeer[] = [];
    for (let j = 0; j + 1 < owners.length; j += 2) out.push({ peer: owners[j]!, owner: owners[j + 1]! });
    for (const peer of reply[2] as unknown[]) out.push({ peer: String(peer) });
    return out;
  }

  async publishAvailability(infoHash: string, workerId: string, counts: Uint16Array): Promise<void> {
    const k = this.keys(infoHash);
    const bytes = availabilityBytes(counts);
    const vector = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const keys = [k.counts, k.states, k.leases, k.availability];
    const reply = await this.raw("redis.publishAvailability", "publishAvailability", infoHash, keys, [workerId, vector]);
    resultOf(reply[0], { op: "redis.publishAvailability", infoHash, workerId }, reply.slice(1));
  }

  async availability(infoHash: string, excludeWorker?: string): Promise<Uint16Array> {
    const k = this.keys(infoHash);
    const keys = [k.counts, k.states, k.leases, k.availability];
    const args = [this.now(), ...(excludeWorker === undefined ? ["0", ""] : ["1", excludeWorker])];
    const { reply } = await this.call("redis.availability", "listPublishers", infoHash, keys, args);
    const sum = new Uint16Array(Number(reply[1]));
    const workers = reply.slice(2).map(String);
    if (workers.length === 0) return sum;
    // Two round trips, not one script: the vectors then never pass through Lua (see
    // listPublishers-4.lua). Nothing needs the two to be atomic: a worker whose lease lapses, or
    // who withdraws, in between is counted, or left out, once, and the next fetch corrects it.
    const vectors = await this.connection.run("redis.availability", infoHash, (client) => client.hmgetBuffer(k.availability, ...workers));
    // Summed here rather than in Lua: a loop over 100k pieces would hold the server for tens of
    // milliseconds, where this costs Node about a millisecond.
    for (const vector of vectors) if (vector !== null) addAvailabilityBytes(sum, vector);
    return sum;
  }

  async withdrawAvailability(infoHash: string, workerId: string): Promise<void> {
    // One HDEL: it touches one field of one key, so there is nothing to make atomic, and a
    // torrent that is gone has nothing to drop.
    const key = this.keys(infoHash).availability;
    await this.connection.run("redis.withdrawAvailability", infoHash, (client) => client.hdel(key, workerId));
  }
}

/** `[code, a, b, c, d, ...]` -> `[[a, b], [c, d], ...]` as numbers. */
function pairs(reply: readonly unknown[]): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 1; j + 1 < reply.length; j += 2) out.push([Number(reply[j]), Number(reply[j + 1])]);
  return out;
}

function checkIndex(infoHash: string, index: number, count: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new CoordinationError("PIECE_OUT_OF_RANGE", `piece ${index} is out of range 0..${count - 1} for torrent ${infoHash}`, {
      context: { infoHash, piece: index, pieceCount: count },
    });
  }
  return index;
}
