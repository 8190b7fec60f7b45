import { Redis } from "ioredis";
import { activeInstanceKey } from "@shoal/coordination";
import type { Logger } from "@shoal/service-kit";

/** Renews only while the key still names us; answers 1 when renewed. */
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes only while the key still names us. */
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

export interface ActiveLockOptions {
  readonly redisUrl: string;
  /** Key prefix, as the Redis adapters use it. */
  readonly prefix?: string;
  readonly service: string;
  readonly instanceId: string;
  readonly ttlMs: number;
  readonly logger: Logger;
  /** Called once when another instance holds the lock (it took over while this one was away). */
  readonly onLost: () => void;
}

/**
 * Active/standby for a service that must run once per cluster: the storage-writer, whose
 * multipart parts are assembled in one process's memory, so a second active writer would split
 * the pieces of a part between two buffers that each wait for the other's. A second instance
 * waits as a standby and takes over within `ttlMs` of the active one dying.
 */
export class ActiveLock {
  private readonly client: Redis;
  private readonly key: string;
  private timer: NodeJS.Timeout | undefined;
  private lastRenewed = 0;
  private closed = false;

  constructor(private readonly o: ActiveLockOptions) {
    this.client = new Redis(o.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1, lazyConnect: false });
    this.client.on("error", () => undefined);
    this.key = activeInstanceKey(o.prefix ?? "shoal", o.service);
  }

  /** Resolves once this instance is the active one; waits (as a standby) while another is. */
  async acquire(): Promise<void> {
    let announced = false;
    for (;;) {
      if (this.closed) throw new Error("the lock was closed while waiting");
      try {
        const got = await this.client.set(this.key, this.o.instanceId, "PX", this.o.ttlMs, "NX");
        if (got === "OK") break;
        if (!announced) {
          const holder = await this.client.get(this.key);
          this.o.logger.info({ op: "lock.acquire", holder }, `standby: another ${this.o.service} (${holder ?? "?"}) is active; taking over if it stops`);
          announced = true;
        }
      } catch (err) {
        this.o.logger.warn({ err, op: "lock.acquire" }, "cannot reach Redis for the active lock; trying again");
      }
      await new Promise((r) => setTimeout(r, Math.max(100, this.o.ttlMs / 3)));
    }
    this.lastRenewed = Date.now();
    this.o.logger.info({ op: "lock.acquire" }, `active ${this.o.service}`);
    this.timer = setInterval(() => void this.renew(), Math.max(100, this.o.ttlMs / 3));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const ok = await this.client.eval(RENEW, 1, this.key, this.o.instanceId, this.o.ttlMs);
      if (ok === 1) {
        this.lastRenewed = Date.now();
        return;
      }
      // The key is gone (it expired during a Redis outage, or Redis lost it: a restart without
      // persistence, FLUSHALL): take it again unless another instance has meanwhile.
      const again = await this.client.set(this.key, this.o.instanceId, "PX", this.o.ttlMs, "NX");
      if (again === "OK") {
        this.lastRenewed = Date.now();
        this.o.logger.warn({ op: "lock.renew" }, "the active lock had lapsed (Redis was away or lost it); taken again");
        return;
      }
      this.lost(`another instance (${(await this.client.get(this.key)) ?? "?"}) holds the active lock`);
    } catch (err) {
      // Redis away: nobody else can take the lock meanwhile either, so this instance keeps
      // working and takes the lock again (or gives up to whoever has it) once Redis answers.
      if (Date.now() - this.lastRenewed > this.o.ttlMs) {
        this.o.logger.warn({ op: "lock.renew", err: (err as Error).message }, "cannot renew the active lock: Redis unreachable");
      }
    }
  }

  private lost(why: string): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.o.logger.error({ op: "lock.renew" }, `lost the active lock: ${why}`);
    this.o.onLost();
  }

  /** Gives the lock up (if held) and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.client.eval(RELEASE, 1, this.key, this.o.instanceId).catch(() => undefined);
    this.client.disconnect();
  }
}
