import type { PeerAddress } from "@shoal/coordination";

interface Entry {
  readonly ip: string;
  readonly port: number;
  fails: number;
  nextAttemptAt: number;
  connected: boolean;
}

/** First retry delay after a failed dial; doubles with each failure. */
const RETRY_BASE_MS = 15_000;
/** Dial failures after which an address is forgotten until a tracker gives it again. */
const MAX_FAILS = 5;
/** A peer we lost after a working connection is dialled again after this long. */
const RECONNECT_DELAY_MS = 10_000;
/** Addresses kept per torrent; trackers can hand out thousands. */
const MAX_ADDRESSES = 4000;

/** Known peer addresses of a torrent and when each may be dialled next. */
export class AddressBook {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Adds the peers it does not know yet (as many as fit) and returns those. */
  add(peers: readonly PeerAddress[]): PeerAddress[] {
    const added: PeerAddress[] = [];
    for (const p of peers) {
      const key = `${p.ip}:${p.port}`;
      const e = this.entries.get(key);
      if (e) {
        // A tracker listing it again is a reason to forgive old failures.
        if (!e.connected && e.fails > 0) e.nextAttemptAt = Math.min(e.nextAttemptAt, this.now() + RETRY_BASE_MS);
        continue;
      }
      if (this.entries.size >= MAX_ADDRESSES) continue;
      this.entries.set(key, { ip: p.ip, port: p.port, fails: 0, nextAttemptAt: 0, connected: false });
      added.push(p);
    }
    return added;
  }

  /** Up to `n` addresses that may be dialled now, least failed first; marks them connected. */
  take(n: number, exclude: (key: string) => boolean): PeerAddress[] {
    const now = this.now();
    const ready = [...this.entries.entries()]
      .filter(([key, e]) => !e.connected && e.nextAttemptAt <= now && !exclude(key))
      .sort((a, b) => a[1].fails - b[1].fails)
      .slice(0, n);
    for (const [, e] of ready) e.connected = true;
    return ready.map(([, e]) => ({ ip: e.ip, port: e.port }));
  }

  markConnected(key: string, ip: string, port: number): void {
    const e = this.entries.get(key);
    if (e) {
      e.connected = true;
      e.fails = 0;
    } else if (this.entries.size < MAX_ADDRESSES) {
      this.entries.set(key, { ip, port, fails: 0, nextAttemptAt: 0, connected: true });
    }
  }

  failed(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.connected = false;
    e.fails++;
    if (e.fails >= MAX_FAILS) this.entries.delete(key);
    else e.nextAttemptAt = this.now() + RETRY_BASE_MS * 2 ** (e.fails - 1);
  }

  disconnected(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.connected = false;
    e.nextAttemptAt = this.now() + RECONNECT_DELAY_MS;
  }

  remove(key: string): void {
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Not to be dialled for `ms`, with no failure counted: another worker owns it, or we handed it
   * to one. Marks it not connected.
   */
  defer(key: string, ms: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.connected = false;
    e.nextAttemptAt = Math.max(e.nextAttemptAt, this.now() + ms);
  }
}

/** `ip:port` (the IP may be IPv6, with colons of its own) -> its parts. */
export function splitPeerKey(key: string): [string, number] {
  const i = key.lastIndexOf(":");
  return [key.slice(0, i), Number(key.slice(i + 1))];
}
