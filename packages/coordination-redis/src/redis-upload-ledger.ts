import type { Redis } from "ioredis";
import { CoordinationError, torrentKeys, type LedgerObject, type LedgerPart, type UploadLedger } from "@shoal/coordination";
import { loadConfig } from "@shoal/service-kit";
import { redisConfigSchema, type RedisConfigInput } from "./config.js";
import { RedisConnection } from "./connection.js";
import type { LuaScript, ScriptName } from "./lua-scripts.js";
import { SCRIPT_CODES } from "./script-codes.js";
import { defineScripts, runScript } from "./script-runner.js";

/** What a part's field in its parts hash holds: the ETag and size, as JSON (ETags carry quotes). */
interface PartRecord {
  readonly etag: string;
  readonly size: number;
}

/**
 * The UploadLedger of a cluster: a torrent's records sit under its hash tag next to its piece
 * table, so a storage-writer restarted on another machine continues the same multipart uploads.
 * Each change is one Lua script (an upload's id, its parts and the finished set move together),
 * and `objects` reads all of them in one script, so a resuming store never sees half a change.
 * Throws CoordinationError BACKEND_UNAVAILABLE (retryable) when Redis is down or after `close`,
 * INVARIANT_BROKEN for a record this adapter did not write.
 */
export class RedisUploadLedger implements UploadLedger {
  private readonly connection: RedisConnection;
  private readonly scripts: ReadonlyMap<ScriptName, LuaScript>;
  private readonly prefix: string;

  constructor(config: RedisConfigInput = {}) {
    const parsed = loadConfig(redisConfigSchema, { prefix: "redis", overrides: config });
    this.prefix = parsed.prefix;
    this.connection = new RedisConnection(parsed);
    this.scripts = defineScripts(this.connection.client);
  }

  async objects(infoHash: string): Promise<readonly LedgerObject[]> {
    const reply = await this.call("redis.ledgerObjects", "listUploads", infoHash, this.keys(infoHash), []);
    return reply.slice(1).map((entry) => this.decodeObject(infoHash, entry));
  }

  async beginUpload(infoHash: string, key: string, uploadId: string): Promise<void> {
    await this.call("redis.ledgerBeginUpload", "beginUpload", infoHash, this.keys(infoHash), [key, uploadId]);
  }

  async recordPart(infoHash: string, key: string, uploadId: string, part: LedgerPart): Promise<void> {
    const k = torrentKeys(this.prefix, infoHash);
    const record: PartRecord = { etag: part.etag, size: part.size };
    await this.call("redis.ledgerRecordPart", "recordPart", infoHash, [k.uploads, k.parts], [key, uploadId, String(part.partNumber), JSON.stringify(record)]);
  }

  async recordComplete(infoHash: string, key: string): Promise<void> {
    await this.call("redis.ledgerRecordComplete", "completeObject", infoHash, this.keys(infoHash), [key]);
  }

  async forgetObject(infoHash: string, key: string): Promise<void> {
    await this.call("redis.ledgerForgetObject", "forgetObject", infoHash, this.keys(infoHash), [key]);
  }

  async forgetTorrent(infoHash: string): Promise<void> {
    await this.call("redis.ledgerForgetTorrent", "forgetUploads", infoHash, this.keys(infoHash), []);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** The three keys every ledger script takes but recordPart: uploads, completed, parts prefix. */
  private keys(infoHash: string): string[] {
    const k = torrentKeys(this.prefix, infoHash);
    return [k.uploads, k.completed, k.parts];
  }

  /** Runs a script; every ledger script answers a table opening with CODE.ok. */
  private async call(op: string, name: ScriptName, infoHash: string, keys: string[], args: string[]): Promise<unknown[]> {
    const reply = await this.connection.run(op, infoHash, (client: Redis) => runScript(client, this.scripts, name, keys, args));
    if (reply[0] !== SCRIPT_CODES.ok) {
      throw new CoordinationError("INVARIANT_BROKEN", `${op} for torrent ${infoHash}: script answered code ${String(reply[0])}`, {
        context: { op, infoHash, code: String(reply[0]) },
      });
    }
    return reply;
  }

  /** One object of listUploads' reply: `[key, uploadId, [partNumber, record, ...]]`, or `[key]` when finished. */
  private decodeObject(infoHash: string, entry: unknown): LedgerObject {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") throw this.broken(infoHash, `an object entry ${JSON.stringify(entry)}`);
    const key = entry[0];
    if (entry.length === 1) return { key, parts: [], complete: true };
    const [, uploadId, flat] = entry as [string, unknown, unknown];
    if (typeof uploadId !== "string" || !Array.isArray(flat)) throw this.broken(infoHash, `the upload record of ${key}`);
    const parts: LedgerPart[] = [];
    for (let j = 0; j + 1 < flat.length; j += 2) parts.push(this.decodePart(infoHash, key, flat[j], flat[j + 1]));
    parts.sort((a, b) => a.partNumber - b.partNumber);
    return { key, uploadId, parts, complete: false };
  }

  private decodePart(infoHash: string, key: string, number: unknown, value: unknown): LedgerPart {
    const partNumber = Number(number);
    let record: Partial<PartRecord> = {};
    try {
      record = JSON.parse(String(value)) as Partial<PartRecord>;
    } catch {
      // Reported below with the rest of what is wrong with it.
    }
    if (!Number.isInteger(partNumber) || typeof record.etag !== "string" || typeof record.size !== "number") {
      throw this.broken(infoHash, `part ${String(number)} of ${key} (${String(value)})`);
    }
    return { partNumber, etag: record.etag, size: record.size };
  }

  private broken(infoHash: string, what: string): CoordinationError {
    return new CoordinationError("INVARIANT_BROKEN", `upload ledger of torrent ${infoHash} holds ${what}, which this adapter does not write`, {
      context: { op: "redis.ledgerObjects", infoHash },
    });
  }
}
