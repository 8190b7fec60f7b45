import { CoordinationError, torrentKeys, type TorrentCatalog, type TorrentRecord } from "@shoal/coordination";
import { loadConfig } from "@shoal/service-kit";
import { redisConfigSchema, type RedisConfigInput } from "./config.js";
import { RedisConnection } from "./connection.js";

/** Fields of the catalog hash. The info dict is stored as raw bytes, never as text. */
const FIELD = {
  infoBytes: "infoBytes",
  announceTiers: "announceTiers",
  destination: "destination",
  private: "private",
  selectFiles: "selectFiles",
  maxDownloadBytesPerSec: "maxDownloadBytesPerSec",
  maxUploadBytesPerSec: "maxUploadBytesPerSec",
  webSeeds: "webSeeds",
} as const;

/**
 * The TorrentCatalog of a cluster: one hash per torrent under the torrent's hash tag, next to its
 * piece table. Throws CoordinationError BACKEND_UNAVAILABLE (retryable) when Redis is down;
 * `get` resolves undefined for an unknown torrent.
 */
export class RedisCatalog implements TorrentCatalog {
  private readonly connection: RedisConnection;
  private readonly prefix: string;

  constructor(config: RedisConfigInput = {}) {
    const parsed = loadConfig(redisConfigSchema, { prefix: "redis", overrides: config });
    this.prefix = parsed.prefix;
    this.connection = new RedisConnection(parsed);
  }

  /** The connection to Redis is up now: for health checks. */
  get isConnected(): boolean {
    return this.connection.client.status === "ready";
  }

  async put(record: TorrentRecord): Promise<void> {
    const key = torrentKeys(this.prefix, record.infoHash).catalog;
    const bytes = Buffer.from(record.infoBytes.buffer, record.infoBytes.byteOffset, record.infoBytes.byteLength);
    await this.connection.run("redis.catalogPut", record.infoHash, async (client) => {
      // One transaction, so a reader never sees half of a record, nor fields of an older one.
      const results = await client
        .multi()
        .del(key)
        .hset(key, {
          [FIELD.infoBytes]: bytes,
          [FIELD.announceTiers]: JSON.stringify(record.announceTiers),
          [FIELD.destination]: record.destination,
          [FIELD.private]: record.private ? "1" : "0",
          ...(record.selectFiles ? { [FIELD.selectFiles]: JSON.stringify(record.selectFiles) } : {}),
          ...(record.maxDownloadBytesPerSec ? { [FIELD.maxDownloadBytesPerSec]: String(record.maxDownloadBytesPerSec) } : {}),
          ...(record.maxUploadBytesPerSec ? { [FIELD.maxUploadBytesPerSec]: String(record.maxUploadBytesPerSec) } : {}),
          ...(record.webSeeds && record.webSeeds.length > 0 ? { [FIELD.webSeeds]: JSON.stringify(record.webSeeds) } : {}),
        })
        .exec();
      // EXEC answers each command's own error in its slot rather than failing the whole call.
      const failed = results?.find(([err]) => err !== null)?.[0];
      if (failed) throw failed;
    });
  }

  async get(infoHash: string): Promise<TorrentRecord | undefined> {
    const key = torrentKeys(this.prefix, infoHash).catalog;
    const fields = await this.connection.run("redis.catalogGet", infoHash, (client) => client.hgetallBuffer(key));
    if (Object.keys(fields).length === 0) return undefined;
    const field = (name: string): Buffer => {
      const value = fields[name];
      if (value === undefined) {
        throw new CoordinationError("INVARIANT_BROKEN", `catalog record of torrent ${infoHash} has no ${name}`, {
          context: { op: "redis.catalogGet", infoHash, field: name },
        });
      }
      return value;
    };
    return {
      infoHash,
      infoBytes: new Uint8Array(field(FIELD.infoBytes)),
      announceTiers: JSON.parse(field(FIELD.announceTiers).toString("utf8")) as string[][],
      destination: field(FIELD.destination).toString("utf8"),
      private: field(FIELD.private).toString("utf8") === "1",
      ...(fields[FIELD.selectFiles] ? { selectFiles: JSON.parse(fields[FIELD.selectFiles]!.toString("utf8")) as number[] } : {}),
      ...(fields[FIELD.maxDownloadBytesPerSec] ? { maxDownloadBytesPerSec: Number(fields[FIELD.maxDownloadBytesPerSec]!.toString("utf8")) } : {}),
      ...(fields[FIELD.maxUploadBytesPerSec] ? { maxUploadBytesPerSec: Number(fields[FIELD.maxUploadBytesPerSec]!.toString("utf8")) } : {}),
      ...(fields[FIELD.webSeeds] ? { webSeeds: JSON.parse(fields[FIELD.webSeeds]!.toString("utf8")) as string[] } : {}),
    };
  }

  async delete(infoHash: string): Promise<void> {
    const key = torrentKeys(this.prefix, infoHash).catalog;
    await this.connection.run("redis.catalogDelete", infoHash, (client) => client.del(key));
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
