import fc from "fast-check";
import { encode, type Encodable } from "@shoal/bencode";
import { decodeExtensionHandshake, encodeExtensionHandshake } from "@shoal/wire";
import { bInteger, bValue, sample } from "../arbitraries.js";
import { ascii, check, type FuzzTarget } from "../target.js";

const KEYS = ["m", "p", "v", "reqq", "yourip", "ipv4", "ipv6", "metadata_size", "upload_only", "ut_metadata", "ut_pex", "lt_donthave", "complete_ago"];

/** Extension handshakes shaped like real clients' (libtorrent, Transmission, aria2), with every field's type varied. */
const handshake: fc.Arbitrary<Uint8Array> = fc
  .record(
    {
      m: fc.oneof(fc.constant(new Map<string, Encodable>([["ut_metadata", 2], ["ut_pex", 1]])), bValue(KEYS) as fc.Arbitrary<Encodable>),
      p: fc.oneof(fc.integer({ min: -1, max: 70_000 }), bInteger, fc.constant("6881")),
      v: fc.oneof(fc.constantFrom("libtorrent/2.0.9", "Transmission 4.0.5", "aria2/1.36.0", "qBittorrent/4.6.5", "\u0000\u001b[31m", "x".repeat(300)), fc.uint8Array({ maxLength: 80 })),
      reqq: fc.oneof(fc.integer({ min: -5, max: 100_000 }), bInteger, fc.constant("500")),
      yourip: fc.uint8Array({ minLength: 4, maxLength: 16 }),
      metadata_size: fc.integer({ min: 0, max: 1 << 24 }),
      upload_only: fc.constantFrom(0, 1),
    },
    { requiredKeys: [] },
  )
  .map((fields) => encode(fields as Record<string, Encodable>));

/**
 * decodeExtensionHandshake on a peer's BEP 10 handshake payload. It promises never to throw
 * (anything malformed is ignored), and what it returns must be usable as is: a request queue
 * from 1 to 10,000, a client name of at most 64 characters, a listen port from 1 to 65535.
 */
export const extensionHandshakeTarget: FuzzTarget = {
  name: "extension-handshake",
  description: "wire's decodeExtensionHandshake: never throws, fields within their documented bounds",
  bencode: true,
  maxInputBytes: 16 * 1024,
  dictionary: [...KEYS.map((k) => `${k.length}:${k}`), "i0e", "i-1e", "i65535e", "i65536e", "de", "le"].map(ascii),
  seeds: () => [
    encodeExtensionHandshake({ listenPort: 6881, requestQueue: 500, client: "shoal/0.1.0" }),
    encodeExtensionHandshake({ listenPort: 0, requestQueue: 250, client: "" }),
    ascii("d1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e12:ut_holepunchi4e11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei5839e4:reqqi500e11:upload_onlyi0e1:v17:libtorrent/2.0.9.06:yourip4:\x7f\x00\x00\x01e"),
  ],
  generate: (seed, count) => sample(handshake, seed, count),
  run(input) {
    const info = decodeExtensionHandshake(input);
    const fields: string[] = [];
    if (info.requestQueue !== undefined) {
      check(Number.isInteger(info.requestQueue) && info.requestQueue >= 1 && info.requestQueue <= 10_000, `requestQueue ${info.requestQueue}`);
      fields.push("reqq");
    }
    if (info.client !== undefined) {
      check(typeof info.client === "string" && info.client.length <= 64, `client of ${info.client.length} characters`);
      fields.push("v");
    }
    if (info.listenPort !== undefined) {
      check(Number.isInteger(info.listenPort) && info.listenPort >= 1 && info.listenPort <= 65535, `listenPort ${info.listenPort}`);
      fields.push("p");
    }
    for (const [name, id] of info.extensions) check(Number.isInteger(id) && id >= 1 && id <= 255, `extension ${name} id ${id}`);
    check(info.extensions.size <= 64, `${info.extensions.size} extensions`);
    if (info.metadataSize !== undefined) {
      check(Number.isSafeInteger(info.metadataSize) && info.metadataSize > 0, `metadataSize ${info.metadataSize}`);
      fields.push("metadata_size");
    }
    return `ok:${fields.join(",") || "nothing"}`;
  },
};
