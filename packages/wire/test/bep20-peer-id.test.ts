import { describe, expect, it } from "vitest";
import { PEER_ID_PREFIX, makePeerId } from "@shoal/wire";

describe("makePeerId (BEP 20)", () => {
  it("is 20 bytes: our client prefix and 12 hex characters of the random bytes", () => {
    const id = makePeerId(Uint8Array.from([0, 1, 2, 0xfd, 0xfe, 0xff]));
    expect(id.length).toBe(20);
    expect(id.toString("latin1")).toBe(`${PEER_ID_PREFIX}000102fdfeff`);
    expect(() => makePeerId(new Uint8Array(5))).toThrow(RangeError);
  });
});
