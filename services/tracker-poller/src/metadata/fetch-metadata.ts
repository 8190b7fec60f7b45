import type { Logger } from "@shoal/service-kit";
import { MetadataAssembler } from "@shoal/wire";
import { EncryptionMemory, type EncryptionPolicy } from "@shoal/wire-net";
import { PollerError } from "../poller-error.js";
import { fetchFromPeer } from "./peer-metadata-session.js";

/** Peers asked at once: enough that one slow or lying peer does not hold the torrent up. */
const SESSIONS_AT_ONCE = 5;
/** One peer's chance to hand over the metadata (a few hundred KiB at most, usually). */
const SESSION_TIMEOUT_MS = 20_000;

export interface MetadataPeer {
  readonly ip: string;
  readonly port: number;
}

export interface FetchMetadataOptions {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly maxMetadataBytes: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Protocol encryption (MSE/PE) for the metadata connections; prefer when not given. */
  readonly encryption?: EncryptionPolicy;
}

/**
 * Fetches a torrent's info dict from peers (BEP 9) and resolves with its bytes once their SHA-1
 * is the info hash: nothing a peer sends is trusted before that. Peers come from `addPeers`
 * (trackers and `x.pe` at first, more as trackers answer); several are asked at once, and each
 * one's pieces are assembled apart from the others', so a dict that fails the hash check names
 * its one sender, which is not asked again (pieces mixed from several peers could not tell an
 * honest peer from a liar). The info dict is small next to the payload (kilobytes to a few MiB),
 * so fetching it whole from a few peers at once costs little and the fastest honest one wins.
 * Rejects with PollerError NO_METADATA (retryable: the swarm may come back) after `timeoutMs`
 * without the whole dict, naming what the peers answered.
 */
export class MetadataFetch {
  private readonly queue: MetadataPeer[] = [];
  private readonly seen = new Set<string>();
  private readonly failures = new Map<string, string>();
  private readonly abort = new AbortController();
  /** Which peers took encryption and which plaintext, for the peers of this one fetch. */
  private readonly encryptionMemory = new EncryptionMemory();
  private running = 0;
  private settle: { resolve(b: Uint8Array): void; reject(e: Error): void } | undefined;
  readonly result: Promise<Uint8Array>;

  constructor(private readonly o: FetchMetadataOptions) {
    this.result = new Promise<Uint8Array>((resolve, reject) => (this.settle = { resolve, reject }));
    this.result.catch(() => undefined);
    const timer = setTimeout(() => this.fail(), o.timeoutMs);
    const onAbort = () => this.finish(undefined, o.signal.reason instanceof Error ? o.signal.reason : new Error("aborted"));
    o.signal.addEventListener("abort", onAbort, { once: true });
    void this.result.finally(() => {
      clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
      this.abort.abort();
    }).catch(() => undefined);
  }

  /** More peers to ask (duplicates and peers already asked are skipped). */
  addPeers(peers: readonly MetadataPeer[]): void {
    for (const p of peers) {
      const key = `${p.ip}:${p.port}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.queue.push(p);
    }
    this.pump();
  }

  private pump(): void {
    while (this.settle && this.running < SESSIONS_AT_ONCE && this.queue.length > 0) {
      const peer = this.queue.shift()!;
      const key = `${peer.ip}:${peer.port}`;
      this.running++;
      // This peer's own pieces and requests.
      let assembler: MetadataAssembler | undefined;
      const inFlight = new Set<number>();
      let lied = false;
      void fetchFromPeer(
        {
          ...peer,
          infoHash: this.o.infoHash,
          peerId: this.o.peerId,
          maxMetadataBytes: this.o.maxMetadataBytes,
          timeoutMs: SESSION_TIMEOUT_MS,
          signal: this.abort.signal,
          encryption: this.o.encryption ?? "prefer",
          memory: this.encryptionMemory,
        },
        {
          onSize: (size) => {
            assembler = new MetadataAssembler(this.o.infoHash, size);
            return true;
          },
          nextPiece: () => {
            if (lied) return undefined;
            const next = assembler?.nextWanted(inFlight);
            if (next !== undefined) inFlight.add(next);
            return next;
          },
          onRequestDropped: (piece) => inFlight.delete(piece),
          onPiece: (piece, data) => {
            inFlight.delete(piece);
            const r = assembler?.add(piece, data, key);
            if (r?.status === "complete") this.finish(r.metadata);
            else if (r?.status === "mismatch") {
              lied = true;
              this.failures.set(key, "its metadata does not hash to the info hash");
              this.o.logger.warn({ op: "metadata.verify", peer: key }, `metadata from ${key} does not hash to the info hash; not asking it again`);
            }
          },
        },
      )
        .catch((err: Error) => {
          if (!lied) this.failures.set(key, err.message);
          this.o.logger.debug({ op: "metadata.fetch", peer: key, err: err.message }, "peer gave no metadata");
        })
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private finish(metadata: Uint8Array | undefined, err?: Error): void {
    const s = this.settle;
    if (!s) return;
    this.settle = undefined;
    if (metadata) s.resolve(Uint8Array.from(metadata));
    else s.reject(err!);
  }

  private fail(): void {
    const asked = [...this.failures].slice(0, 5).map(([peer, why]) => `${peer}: ${why}`);
    const what = this.seen.size === 0 ? "no peer was found" : `${this.seen.size} peer(s) found${asked.length > 0 ? `; ${asked.join("; ")}` : ""}`;
    this.finish(
      undefined,
      new PollerError("NO_METADATA", `no peer gave the torrent's metadata within ${Math.round(this.o.timeoutMs / 1000)} s (${what})`, {
        context: { peers: this.seen.size },
        retryable: true,
      }),
    );
  }
}
