import { PEX_FLAGS, type PexAdded, type PexMessage, type PexPeer } from "@shoal/wire";

/**
 * A peer's PEX message is read at most this often per connection; those in between are ignored.
 * BEP 11 asks senders for one a minute; libtorrent, the strictest reader, disconnects a peer that
 * sends six within a minute. Less than the minute leaves room for messages that sat in a
 * rate-limited socket and arrive closer together than they were sent; ignoring costs nothing,
 * so a sender that floods only loses what it says.
 */
export const PEX_MIN_RECEIVE_INTERVAL_MS = 45_000;
/** We send each peer at most one message a minute (BEP 11), the first right after its handshake. */
export const PEX_SEND_INTERVAL_MS = 60_000;
/**
 * Added peers honoured from one message, and the most we put in one message's added and dropped
 * lists each: BEP 11 and libtorrent say 50. A sender that lists more gets the first 50 read.
 */
export const PEX_MAX_PEERS_PER_LIST = 50;
/**
 * A PEX payload over this is ignored without being decoded. 50 added and 50 dropped IPv6 peers
 * with flags are about 2 KiB, and libtorrent's full first message (up to 100 peers) stays under
 * 4 KiB; honest senders never come near 8 KiB. The connection's 1 MiB message cap still closes
 * anything far larger.
 */
export const MAX_PEX_PAYLOAD_BYTES = 8 * 1024;

export type PexReceiveVerdict = "read" | "too_large" | "too_frequent";

/** Whether to read a PEX payload of `bytes` from a peer whose last read one came at `lastReadAt`. */
export function pexReceiveVerdict(bytes: number, lastReadAt: number | undefined, now: number): PexReceiveVerdict {
  if (bytes > MAX_PEX_PAYLOAD_BYTES) return "too_large";
  if (lastReadAt !== undefined && now - lastReadAt < PEX_MIN_RECEIVE_INTERVAL_MS) return "too_frequent";
  return "read";
}

export interface LearnContext {
  /** One of our own listen addresses: dialling it would reach ourselves. */
  isOwnAddress(ip: string, port: number): boolean;
  /** We have every piece we want: seeds have nothing for us. */
  readonly complete: boolean;
}

/**
 * The peers worth dialling among a message's added ones: the first PEX_MAX_PEERS_PER_LIST only,
 * then without our own addresses, unspecified or broadcast ones, repeats, and seeds once we are
 * complete. Dropped peers are not read: a peer closing its connection to someone says nothing
 * about whether we can use that someone, and our address book forgets dead peers by failed dials.
 */
export function learnedPeers(msg: PexMessage, ctx: LearnContext): PexAdded[] {
  const out: PexAdded[] = [];
  const seen = new Set<string>();
  for (const p of msg.added.slice(0, PEX_MAX_PEERS_PER_LIST)) {
    const key = `${p.ip}:${p.port}`;
    if (seen.has(key) || !dialable(p.ip) || ctx.isOwnAddress(p.ip, p.port)) continue;
    if (ctx.complete && (p.flags & PEX_FLAGS.seed) !== 0) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** Addresses nobody can be dialled at: unspecified, IPv4 broadcast and multicast. */
function dialable(ip: string): boolean {
  if (ip === "0.0.0.0" || ip === "::" || ip === "255.255.255.255") return false;
  if (ip.includes(":")) return !ip.toLowerCase().startsWith("ff");
  const first = Number(ip.split(".")[0]);
  return first !== 0 && (first < 224 || first > 239);
}

/**
 * The next message to a peer: what we are connected to now (`current`, address -> flags) against
 * what it was told before (`advertised`), at most PEX_MAX_PEERS_PER_LIST added and dropped. The
 * caller updates `advertised` with the result, so what did not fit goes in the next message.
 */
export function pexDelta(advertised: ReadonlyMap<string, PexAdded>, current: ReadonlyMap<string, PexAdded>): { added: PexAdded[]; dropped: PexPeer[] } {
  const added: PexAdded[] = [];
  const dropped: PexPeer[] = [];
  for (const [key, p] of current) {
    if (added.length >= PEX_MAX_PEERS_PER_LIST) break;
    if (!advertised.has(key)) added.push(p);
  }
  for (const [key, p] of advertised) {
    if (dropped.length >= PEX_MAX_PEERS_PER_LIST) break;
    if (!current.has(key)) dropped.push({ ip: p.ip, port: p.port });
  }
  return { added, dropped };
}
