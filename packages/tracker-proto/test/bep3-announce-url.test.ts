import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { TrackerError, buildAnnounceUrl, percentEncodeBytes } from "@shoal/tracker-proto";
import type { AnnounceParams } from "@shoal/tracker-proto";

const infoHash = Uint8Array.from({ length: 20 }, (_, i) => i * 13);
const peerId = new TextEncoder().encode("-SH0100-abc def+/?%&");

const base: AnnounceParams = { infoHash, peerId, port: 6881, uploaded: 0, downloaded: 0, left: 1000 };

function percentDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%") {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(text.charCodeAt(i));
  }
  return Uint8Array.from(out);
}

function queryOf(url: string): Map<string, string> {
  const query = url.slice(url.indexOf("?") + 1);
  return new Map(query.split("&").map((kv) => kv.split("=") as [string, string]));
}

describe("buildAnnounceUrl", () => {
  it("percent-encodes info_hash and peer_id byte by byte and never uses '+'", () => {
    const url = buildAnnounceUrl("http://t.example/announce", base);
    const q = queryOf(url);
    expect(percentDecode(q.get("info_hash")!)).toEqual(infoHash);
    expect(percentDecode(q.get("peer_id")!)).toEqual(peerId);
    expect(q.get("peer_id")).toContain("%20");
    expect(url).not.toContain("+");
    expect(q.get("compact")).toBe("1");
  });

  it("keeps an existing query string and appends with &", () => {
    const url = buildAnnounceUrl("https://t.example/announce.php?passkey=abc#frag", base);
    expect(url.startsWith("https://t.example/announce.php?passkey=abc&info_hash=")).toBe(true);
    expect(url).not.toContain("#");
  });

  it("sends no event for a regular re-announce and the event otherwise", () => {
    expect(buildAnnounceUrl("http://t/announce", base)).not.toContain("event=");
    expect(queryOf(buildAnnounceUrl("http://t/announce", { ...base, event: "started" })).get("event")).toBe("started");
  });

  it("writes optional parameters and bigint counters", () => {
    const url = buildAnnounceUrl("http://t/announce", {
      ...base,
      uploaded: 2n ** 60n,
      numwant: 80,
      key: "0a1B2c3D",
      trackerId: Uint8Array.of(0, 255, 65),
      ip: "10.0.0.1",
    });
    const q = queryOf(url);
    expect(q.get("uploaded")).toBe((2n ** 60n).toString());
    expect(q.get("numwant")).toBe("80");
    expect(q.get("key")).toBe("0a1B2c3D");
    expect(q.get("trackerid")).toBe("%00%FFA");
    expect(q.get("ip")).toBe("10.0.0.1");
  });

  it("rejects bad parameters and non-HTTP URLs", () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as TrackerError).code;
      }
      return undefined;
    };
    expect(codeOf(() => buildAnnounceUrl("http://t/a", { ...base, infoHash: new Uint8Array(19) }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => buildAnnounceUrl("http://t/a", { ...base, port: 70000 }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => buildAnnounceUrl("http://t/a", { ...base, left: -1 }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => buildAnnounceUrl("http://t/a", { ...base, key: "xyz" }))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => buildAnnounceUrl("udp://t:1/a", base))).toBe("UNSUPPORTED_SCHEME");
    expect(codeOf(() => buildAnnounceUrl("nonsense", base))).toBe("INVALID_URL");
  });

  it("percent-encoding round-trips any bytes and leaves only unreserved characters literal", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = percentEncodeBytes(bytes);
        expect(text).toMatch(/^([A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/);
        expect(percentDecode(text)).toEqual(bytes);
      }),
    );
  });
});
