import { MetainfoError } from "./metainfo-error.js";

/** Bounds on what one magnet link may make us keep; a link over them is refused or trimmed. */
export interface MagnetLimits {
  /** Longest link accepted, in characters: far above real links (a few hundred trackers fit). */
  readonly maxLinkChars: number;
  /** Trackers, peers (`x.pe`) and web seeds (`ws`) kept; extra entries are dropped with a warning. */
  readonly maxTrackers: number;
  readonly maxPeers: number;
  readonly maxWebSeeds: number;
}

export const DEFAULT_MAGNET_LIMITS: MagnetLimits = Object.freeze({
  // Browsers cap URLs near 64 KiB-2 MiB; 64 KiB holds hundreds of tracker URLs.
  maxLinkChars: 64 * 1024,
  maxTrackers: 200,
  maxPeers: 500,
  maxWebSeeds: 100,
});

/** A peer address from `x.pe`: an IPv4 or IPv6 literal and a port. */
export interface MagnetPeer {
  readonly ip: string;
  readonly port: number;
}

/** What a `magnet:?xt=urn:btih:...` link says about a torrent. */
export interface MagnetLink {
  /** The v1 info hash, 20 bytes. */
  readonly infoHash: Uint8Array;
  /** The same, as 40 lowercase hex digits. */
  readonly infoHashHex: string;
  /** `dn`: a name to show until the metadata is known. */
  readonly name?: string;
  /** `tr`, in the link's order without repeats. */
  readonly trackers: readonly string[];
  /** `x.pe`: peers to dial at once. */
  readonly peers: readonly MagnetPeer[];
  /** `ws`: BEP 19 web seeds. */
  readonly webSeeds: readonly string[];
  /** `xl`: the payload's length in bytes, when given. */
  readonly exactLength?: number;
  /** `so`: file indices to download (BEP 53), when given. */
  readonly selectOnly?: readonly number[];
  /**
   * Optional parts that were dropped, one line each (an unparsable tracker, a peer that is not
   * an IP literal, entries over the limits): worth a warning, not a refusal.
   */
  readonly warnings: readonly string[];
}

const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Whether `text` looks like a magnet link (so callers can route it before reading a file). */
export function isMagnetLink(text: string): boolean {
  return /^magnet:\?/i.test(text.trim());
}

function refuse(message: string, part: string): never {
  throw new MetainfoError("INVALID_MAGNET", `magnet link: ${message}`, { context: { field: part } });
}

/** Percent-decoding of a query value; `+` is a space, as HTML forms (and libtorrent) write it. */
function decodeValue(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

function base32Decode(text: string): Uint8Array | undefined {
  const out = new Uint8Array(20);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of text.toUpperCase()) {
    const v = BASE32_ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >>> bits) & 0xff;
    }
  }
  return n === 20 ? out : undefined;
}

/** The 20-byte info hash of a `urn:btih:` topic: 40 hex digits or 32 base32 characters. */
function btihHash(topic: string): Uint8Array {
  const hash = topic.slice("urn:btih:".length);
  if (/^[0-9a-fA-F]{40}$/.test(hash)) return Uint8Array.from(Buffer.from(hash, "hex"));
  if (hash.length === 32) {
    const bytes = base32Decode(hash);
    if (bytes) return bytes;
  }
  return refuse(`xt "${topic.length > 80 ? `${topic.slice(0, 80)}...` : topic}": the info hash must be 40 hex digits or 32 base32 characters`, "xt");
}

/** `host:port` with an IPv4 literal or `[IPv6]:port`; undefined for anything else. */
function peerOf(text: string): MagnetPeer | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const ip = text.startsWith("[") ? ipv6Of(m[1]!) : ipv4Of(m[1]!);
  return ip === undefined ? undefined : { ip, port };
}

function ipv4Of(text: string): string | undefined {
  const octets = text.split(".").map(Number);
  return octets.length === 4 && octets.every((o) => o <= 255) ? octets.join(".") : undefined;
}

/** The canonical (compressed, lowercase) form of an IPv6 literal, as the WHATWG URL parser writes it. */
function ipv6Of(text: string): string | undefined {
  try {
    const host = new URL(`http://[${text}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** BEP 53 `so`: `0,2,4-6`; undefined when malformed. */
function selectOnlyOf(text: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\d{1,7})(?:-(\d{1,7}))?$/.exec(part.trim());
    if (!m) return undefined;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    // A range is bounded by the digit count; a reversed or huge one is a malformed link.
    if (to < from || to - from > 100_000) return undefined;
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

function isUrl(text: string, schemes: readonly string[]): boolean {
  try {
    return schemes.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * Reads a BEP 9 magnet link. The link must carry one `xt=urn:btih:` topic (hex or base32);
 * everything else is optional: `dn`, any number of `tr`, `x.pe` and `ws` (also as `tr.1`,
 * `tr.2`, ...), `xl`, `so`. Values are percent-decoded. A missing or malformed topic, a v2-only
 * link (`urn:btmh:`) or two different v1 hashes is a MetainfoError (INVALID_MAGNET or
 * V2_ONLY) whose one-line message names the part; unusable optional entries are dropped and
 * listed in `warnings`.
 */
export function parseMagnet(link: string, limits: MagnetLimits = DEFAULT_MAGNET_LIMITS): MagnetLink {
  const text = link.trim();
  if (text.length > limits.maxLinkChars) refuse(`${text.length} characters, over the limit of ${limits.maxLinkChars}`, "link");
  if (!isMagnetLink(text)) refuse(`does not start with "magnet:?"`, "link");
  const query = text.slice(text.indexOf("?") + 1).split("#")[0]!;
  const warnings: string[] = [];
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  const peers: MagnetPeer[] = [];
  const seenPeers = new Set<string>();
  let hash: Uint8Array | undefined;
  let v2Only = false;
  let name: string | undefined;
  let exactLength: number | undefined;
  let selectOnly: number[] | undefined;
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    // Repeated keys may be numbered (`tr.1=`, `xt.2=`); `x.pe` is a key of its own.
    const key = rawKey.toLowerCase() === "x.pe" ? "x.pe" : rawKey.toLowerCase().replace(/\.\d+$/, "");
    const value = decodeValue(eq < 0 ? "" : pair.slice(eq + 1));
    if (value === undefined) {
      if (key === "xt") refuse(`xt: malformed percent-encoding`, "xt");
      warnings.push(`${rawKey}: malformed percent-encoding, ignored`);
      continue;
    }
    switch (key) {
      case "xt": {
        const topic = value.trim();
        const lower = topic.toLowerCase();
        if (lower.startsWith("urn:btih:")) {
          const h = btihHash(`urn:btih:${topic.slice("urn:btih:".length)}`);
          if (hash && Buffer.compare(Buffer.from(hash), Buffer.from(h)) !== 0) refuse("two different urn:btih: info hashes", "xt");
          hash = h;
        } else if (lower.startsWith("urn:btmh:")) {
          v2Only = true;
        } else {
          warnings.push(`xt "${topic.slice(0, 80)}": not a BitTorrent topic, ignored`);
        }
        break;
      }
      case "dn":
        name = value;
        break;
      case "tr":
        if (!isUrl(value, ["http:", "https:", "udp:"])) warnings.push(`tr "${value.slice(0, 200)}": not an http(s) or udp tracker URL, ignored`);
        else if (trackers.length >= limits.maxTrackers) warnings.push(`tr "${value.slice(0, 200)}": more than ${limits.maxTrackers} trackers, ignored`);
        else if (!trackers.includes(value)) trackers.push(value);
        break;
      case "ws":
        if (!isUrl(value, ["http:", "https:"])) warnings.push(`ws "${value.slice(0, 200)}": not an http(s) URL, ignored`);
        else if (webSeeds.length >= limits.maxWebSeeds) warnings.push(`ws "${value.slice(0, 200)}": more than ${limits.maxWebSeeds} web seeds, ignored`);
        else if (!webSeeds.includes(value)) webSeeds.push(value);
        break;
      case "x.pe": {
        const peer = peerOf(value.trim());
        if (!peer) warnings.push(`x.pe "${value.slice(0, 200)}": not an IPv4 a.b.c.d:port or IPv6 [addr]:port, ignored`);
        else if (peers.length >= limits.maxPeers) warnings.push(`x.pe "${value}": more than ${limits.maxPeers} peers, ignored`);
        else if (!seenPeers.has(`${peer.ip}|${peer.port}`)) {
          seenPeers.add(`${peer.ip}|${peer.port}`);
          peers.push(peer);
        }
        break;
      }
      case "xl": {
        const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
        if (Number.isSafeInteger(n)) exactLength = n;
        else warnings.push(`xl "${value.slice(0, 40)}": not a length in bytes, ignored`);
        break;
      }
      case "so": {
        const so = selectOnlyOf(value);
        if (so) selectOnly = so;
        else warnings.push(`so "${value.slice(0, 80)}": not a list of file indices and ranges, ignored`);
        break;
      }
      default:
        // Other keys (kt, as, xs, mt, x.* extensions) are not used by shoal.
        break;
    }
  }
  if (!hash) {
    if (v2Only) {
      throw new MetainfoError("V2_ONLY", "magnet link: xt=urn:btmh: (BitTorrent v2) is not supported; give a link with an xt=urn:btih: info hash", {
        context: { field: "xt" },
      });
    }
    refuse("no xt=urn:btih: parameter (the info hash)", "xt");
  }
  return {
    infoHash: hash,
    infoHashHex: Buffer.from(hash).toString("hex"),
    ...(name !== undefined ? { name } : {}),
    trackers,
    peers,
    webSeeds,
    ...(exactLength !== undefined ? { exactLength } : {}),
    ...(selectOnly !== undefined ? { selectOnly } : {}),
    warnings,
  };
}

/** A magnet link for `m` (hex info hash, every part percent-encoded): what `parseMagnet` reads back. */
export function formatMagnet(m: Omit<MagnetLink, "infoHash" | "warnings"> & { readonly infoHashHex: string }): string {
  const parts = [`xt=urn:btih:${m.infoHashHex}`];
  if (m.name !== undefined) parts.push(`dn=${encodeURIComponent(m.name)}`);
  for (const t of m.trackers) parts.push(`tr=${encodeURIComponent(t)}`);
  for (const p of m.peers) parts.push(`x.pe=${encodeURIComponent(p.ip.includes(":") ? `[${p.ip}]:${p.port}` : `${p.ip}:${p.port}`)}`);
  for (const w of m.webSeeds) parts.push(`ws=${encodeURIComponent(w)}`);
  if (m.exactLength !== undefined) parts.push(`xl=${m.exactLength}`);
  if (m.selectOnly !== undefined && m.selectOnly.length > 0) parts.push(`so=${m.selectOnly.join(",")}`);
  return `magnet:?${parts.join("&")}`;
}
