import fc from "fast-check";
import {
  TrackerError,
  UdpAction,
  decodeConnectResponse,
  decodeUdpAnnounceResponse,
  decodeUdpScrapeResponse,
  decodeUrlDataOptions,
  encodeUrlDataOptions,
  readUdpResponseHeader,
} from "@shoal/tracker-proto";
import { sample } from "../arbitraries.js";
import { ascii, check, concatBytes, outcome, type FuzzTarget } from "../target.js";
import { checkAnnounceResult, checkTrackerText } from "./tracker-http.js";

/** What the UDP decoders may throw for a bad datagram: the tracker's error action, or a malformed answer. */
function documented(err: unknown): string | undefined {
  if (!(err instanceof TrackerError) || !["FAILURE", "BAD_RESPONSE"].includes(err.code)) return undefined;
  const reason = err.context["reason"];
  if (typeof reason === "string") checkTrackerText(reason, "error action text");
  return `${err.code}:${String(err.context["field"] ?? "")}`;
}

const MAX_PEERS = 50;

function header(action: number, transactionId: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, action >>> 0);
  view.setUint32(4, transactionId >>> 0);
  return out;
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** Datagrams shaped like each BEP 15 response, with the fields' values and the lengths varied. */
const datagram: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(0, 1, 2, 3, 4, 0xffffffff), u32, fc.array(u32, { maxLength: 8 }), fc.uint8Array({ maxLength: 64 }), fc.boolean())
  .map(([action, tid, words, tail, withText]) => {
    const body = new Uint8Array(words.length * 4);
    const view = new DataView(body.buffer);
    words.forEach((w, i) => view.setUint32(i * 4, w));
    const text = withText ? ascii("Torrent not registered\u0000\u001b[0m") : new Uint8Array(0);
    return concatBytes([header(action, tid), body, text, tail]);
  });

/**
 * Every UDP tracker decoder (BEP 15, 41) on one datagram: the header reader, and connect,
 * announce and scrape decoders with the transaction id the datagram carries (so they get past
 * the id check) and once with another id (which must be refused), plus the BEP 41 option reader
 * on the bytes after the header.
 */
export const trackerUdpTarget: FuzzTarget = {
  name: "tracker-udp",
  description: "readUdpResponseHeader, decodeConnect/UdpAnnounce/UdpScrapeResponse, decodeUrlDataOptions",
  maxInputBytes: 2048,
  dictionary: [header(0, 0), header(1, 0), header(2, 0), header(3, 0), Uint8Array.of(2, 255), Uint8Array.of(1), Uint8Array.of(0), ascii("/announce?passkey=")],
  seeds: () => [
    concatBytes([header(UdpAction.CONNECT, 7), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)]),
    concatBytes([header(UdpAction.ANNOUNCE, 7), Uint8Array.of(0, 0, 7, 8, 0, 0, 0, 1, 0, 0, 0, 2, 10, 0, 0, 1, 0x1a, 0xe1, 127, 0, 0, 1, 0, 0)]),
    concatBytes([header(UdpAction.SCRAPE, 7), new Uint8Array(24).fill(3)]),
    concatBytes([header(UdpAction.ERROR, 7), ascii("Connection ID missmatch.")]),
    concatBytes([header(UdpAction.ANNOUNCE, 7), encodeUrlDataOptions("/announce?passkey=abc&x=" + "y".repeat(300))]),
  ],
  generate: (seed, count) => sample(datagram, seed, count),
  run(input) {
    const head = readUdpResponseHeader(input);
    check((head === undefined) === input.length < 8, "readUdpResponseHeader and the datagram length disagree");
    const tid = head?.transactionId ?? 0;
    const connect = outcome(() => {
      const { connectionId } = decodeConnectResponse(input, tid);
      check(connectionId >= 0n && connectionId < 2n ** 64n, `connection id ${connectionId}`);
      return "connect";
    }, documented);
    const announce = outcome(() => {
      const r = decodeUdpAnnounceResponse(input, tid, { maxPeers: MAX_PEERS });
      checkAnnounceResult(r, MAX_PEERS);
      return r.peers.length > 0 ? "peers" : "empty";
    }, documented);
    const hashes = Array.from({ length: 1 + ((input[3] ?? 0) % 8) }, (_, i) => new Uint8Array(20).fill(i));
    const scrape = outcome(() => {
      const r = decodeUdpScrapeResponse(input, tid, hashes);
      check(r.files.size <= hashes.length, `${r.files.size} scrape entries for ${hashes.length} hashes`);
      for (const s of r.files.values()) for (const n of [s.complete, s.incomplete, s.downloaded]) check(Number.isInteger(n) && n >= 0, `counter ${n}`);
      return "scrape";
    }, documented);
    if (head !== undefined) {
      const other = outcome(() => {
        decodeConnectResponse(input, (tid + 1) >>> 0);
        return "accepted";
      }, documented);
      check(other === "error:BAD_RESPONSE:transaction_id", `a datagram for another transaction gave ${other}`);
    }
    const options = outcome(() => `${Math.min(decodeUrlDataOptions(input.subarray(8)).length, 1)}`, documented);
    return `${connect}|${announce}|${scrape}|${options}`;
  },
};
