import fc from "fast-check";
import { encode, type Encodable } from "@shoal/bencode";
import {
  ANNOUNCE_INTERVAL_MAX_S,
  ANNOUNCE_INTERVAL_MIN_S,
  ANNOUNCE_MAX_PEERS,
  SCRAPE_MAX_FILES,
  TRACKER_RESPONSE_MAX_BYTES,
  TRACKER_TEXT_MAX_CHARS,
  TrackerError,
  canonicalIp,
  encodeCompactPeers,
  parseAnnounceResponse,
  parseScrapeResponse,
  type AnnounceResult,
} from "@shoal/tracker-proto";
import { bInteger, ipText, sample } from "../arbitraries.js";
import { ascii, check, outcome, type FuzzTarget } from "../target.js";

/** What the HTTP tracker decoders may throw for bad input: a refusal, a malformed answer, an oversized one. */
export function documentedTrackerError(err: unknown): string | undefined {
  if (!(err instanceof TrackerError) || !["FAILURE", "BAD_RESPONSE", "TOO_LARGE"].includes(err.code)) return undefined;
  const reason = err.context["reason"];
  if (typeof reason === "string") checkTrackerText(reason, "failure reason");
  const field = typeof err.context["field"] === "string" ? err.context["field"].replace(/\[\d+\]/g, "[]").replace(/[0-9a-f]{40}/, "<hash>") : "";
  return `${err.code}:${field}`;
}

/** Texts from a tracker are cut at TRACKER_TEXT_MAX_CHARS (plus an ellipsis) and carry no control characters. */
export function checkTrackerText(text: string, what: string): void {
  check(text.length <= TRACKER_TEXT_MAX_CHARS + 1, `${what} of ${text.length} characters`);
  check(!/[\u0000-\u001f\u007f]/.test(text), `${what} carries a control character`);
}

/** What every announce result promises, from HTTP or UDP. */
export function checkAnnounceResult(r: AnnounceResult, maxPeers: number): void {
  check(Number.isInteger(r.interval) && r.interval >= ANNOUNCE_INTERVAL_MIN_S && r.interval <= ANNOUNCE_INTERVAL_MAX_S, `interval ${r.interval}`);
  if (r.minInterval !== undefined) check(r.minInterval >= ANNOUNCE_INTERVAL_MIN_S && r.minInterval <= r.interval, `min interval ${r.minInterval}`);
  for (const count of [r.complete, r.incomplete]) if (count !== undefined) check(Number.isSafeInteger(count) && count >= 0, `count ${count}`);
  check(r.peers.length <= maxPeers, `${r.peers.length} peers above the cap of ${maxPeers}`);
  const seen = new Set<string>();
  for (const p of r.peers) {
    check(canonicalIp(p.ip) === p.ip && p.ip !== "0.0.0.0" && p.ip !== "::", `peer ip ${JSON.stringify(p.ip)}`);
    check(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535, `peer port ${p.port}`);
    check(!seen.has(`${p.ip}|${p.port}`), `peer ${p.ip}:${p.port} listed twice`);
    seen.add(`${p.ip}|${p.port}`);
  }
  if (r.warning !== undefined) checkTrackerText(r.warning, "warning");
}

const port = fc.oneof(fc.integer({ min: 0, max: 65536 }), bInteger, fc.constant("6881"));
const dictPeer = fc.record(
  { ip: fc.oneof(ipText, fc.uint8Array({ maxLength: 6 })), port, "peer id": fc.uint8Array({ minLength: 20, maxLength: 20 }) },
  { requiredKeys: [] },
);
const compactPeers = fc.oneof(
  fc.array(fc.record({ ip: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) }), { maxLength: 30 }).map((ps) => encodeCompactPeers(ps)),
  fc.uint8Array({ maxLength: 200 }),
);

const announceResponse: fc.Arbitrary<Uint8Array> = fc
  .record(
    {
      interval: fc.oneof(bInteger, fc.constant("1800")),
      "min interval": bInteger,
      complete: bInteger,
      incomplete: bInteger,
      "tracker id": fc.uint8Array({ maxLength: 24 }),
      peers: fc.oneof(compactPeers, fc.array(dictPeer, { maxLength: 12 }), bInteger),
      peers6: fc.oneof(fc.uint8Array({ maxLength: 120 }), fc.constant(new Uint8Array(18 * 3).fill(0x20))),
      "warning message": fc.oneof(fc.string({ maxLength: 40 }), fc.constant("\u001b[2J".repeat(400))),
      "failure reason": fc.oneof(fc.string({ maxLength: 40 }), bInteger),
    },
    { requiredKeys: [] },
  )
  .map((r) => encode(r as Record<string, Encodable>));

const scrapeResponse: fc.Arbitrary<Uint8Array> = fc
  .record(
    {
      files: fc.oneof(
        fc
          .array(
            fc.tuple(
              fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ maxLength: 24 })),
              fc.record({ complete: bInteger, incomplete: bInteger, downloaded: bInteger, name: fc.string() }, { requiredKeys: [] }),
            ),
            { maxLength: 6 },
          )
          .map((entries) => new Map(entries.map(([k, v]) => [Buffer.from(k).toString("latin1"), v as Encodable]))),
        bInteger,
      ),
      "failure reason": fc.string({ maxLength: 20 }),
      flags: fc.record({ min_request_interval: bInteger }),
    },
    { requiredKeys: [] },
  )
  .map((r) => encode(r as Record<string, Encodable>));

const TRACKER_KEYS = ["interval", "min interval", "complete", "incomplete", "downloaded", "tracker id", "peers", "peers6", "ip", "port", "peer id", "failure reason", "warning message", "files"];
const dictionary = [...TRACKER_KEYS.map((k) => `${k.length}:${k}`), "i0e", "i-1e", "i65536e", "le", "de", "6:", "18:"].map(ascii);

/** Each limit the caller may pass: the defaults, and a cap small enough that duplicates and misses matter. */
const PEER_CAPS = [ANNOUNCE_MAX_PEERS, 3];

/**
 * parseAnnounceResponse (BEP 3, 7, 23) under the default and a small peer cap. Accepted answers
 * keep their documented promises: intervals clamped, at most maxPeers distinct peers with
 * canonical IP literals and ports 1..65535, tracker texts cut and free of control characters.
 */
export const trackerAnnounceTarget: FuzzTarget = {
  name: "tracker-announce",
  description: "parseAnnounceResponse (compact, dictionary and IPv6 peers) under two peer caps",
  bencode: true,
  maxInputBytes: 64 * 1024,
  dictionary,
  seeds: () => [
    encode({ complete: 3, incomplete: 1, interval: 1800, "min interval": 900, peers: encodeCompactPeers([{ ip: "10.0.0.1", port: 6881 }, { ip: "10.0.0.2", port: 51413 }]) }),
    encode({ interval: 60, peers: [{ ip: "192.168.1.2", port: 6881, "peer id": "-TR4050-aaaaaaaaaaaa" }, { ip: "::1", port: 1 }, { ip: "tracker.example", port: 80 }] }),
    encode({ interval: 1800, peers: new Uint8Array(0), peers6: new Uint8Array(18).fill(1) }),
    encode({ "failure reason": "Requested download is not authorized for use with this tracker." }),
    ascii("d8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e\n"),
  ],
  generate: (seed, count) => sample(announceResponse, seed, count),
  run(input) {
    const labels = PEER_CAPS.map((maxPeers) =>
      outcome(() => {
        const r = parseAnnounceResponse(input, { maxBytes: TRACKER_RESPONSE_MAX_BYTES, maxPeers });
        checkAnnounceResult(r, maxPeers);
        return `${r.peers.length > 0 ? "peers" : "empty"}${r.warning !== undefined ? "+warning" : ""}`;
      }, documentedTrackerError),
    );
    return labels.join("|");
  },
};

/**
 * parseScrapeResponse (BEP 48) under the default and a small file cap: at most maxFiles entries,
 * keys as 40 lowercase hex characters, counters safe non-negative integers.
 */
export const trackerScrapeTarget: FuzzTarget = {
  name: "tracker-scrape",
  description: "parseScrapeResponse under two file caps",
  bencode: true,
  maxInputBytes: 64 * 1024,
  dictionary,
  seeds: () => [
    encode({ files: new Map([["\xab".repeat(20), { complete: 5, downloaded: 50, incomplete: 10 }]]) }),
    encode({ files: new Map([["a".repeat(20), { complete: 1 }], ["b".repeat(20), {}]]), flags: { min_request_interval: 900 } }),
    encode({ files: {} }),
  ],
  generate: (seed, count) => sample(scrapeResponse, seed, count),
  run(input) {
    return [SCRAPE_MAX_FILES, 1]
      .map((maxFiles) =>
        outcome(() => {
          const r = parseScrapeResponse(input, { maxBytes: TRACKER_RESPONSE_MAX_BYTES, maxFiles });
          check(r.files.size <= maxFiles, `${r.files.size} files above the cap of ${maxFiles}`);
          for (const [hex, s] of r.files) {
            check(/^[0-9a-f]{40}$/.test(hex), `scrape key ${JSON.stringify(hex)}`);
            for (const n of [s.complete, s.incomplete, s.downloaded]) check(Number.isSafeInteger(n) && n >= 0, `scrape counter ${n}`);
          }
          return r.files.size > 0 ? "files" : "empty";
        }, documentedTrackerError),
      )
      .join("|");
  },
};
