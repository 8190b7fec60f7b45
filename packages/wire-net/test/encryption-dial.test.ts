import { describe, expect, it } from "vitest";
import { MSE_METHOD } from "@shoal/wire";
import { EncryptionMemory, HandshakeFailure, dialWithPolicy, type HandshakeStage, type Handshaken } from "../src/index.js";

/**
 * A peer as the policy sees it: which MSE offers it takes (by the mask dialled) and where a
 * refused dial fails. Records every dial's mask.
 */
function peer(accepts: (mse: number) => boolean, failsAt: HandshakeStage = "encryption") {
  const dials: number[] = [];
  const dial = async (mse: number): Promise<Handshaken> => {
    dials.push(mse);
    if (!accepts(mse)) throw new HandshakeFailure(mse === 0 ? "plaintext refused" : "peer closed the connection during the encrypted handshake", mse === 0 ? "handshake" : failsAt);
    return { mse } as unknown as Handshaken;
  };
  return { dials, dial };
}

const BOTH = MSE_METHOD.rc4 | MSE_METHOD.plaintext;

describe("dialWithPolicy", () => {
  it("prefer: encrypted first, offering RC4 and plaintext; remembered as encrypted", async () => {
    const memory = new EncryptionMemory();
    const p = peer(() => true);
    await dialWithPolicy("prefer", "a:1", memory, p.dial);
    expect(p.dials).toEqual([BOTH]);
    expect(memory.get("a:1")).toBe("encrypted");
  });

  it("prefer: a peer that drops the encrypted handshake is dialled once in plaintext, and plaintext first next time", async () => {
    const memory = new EncryptionMemory();
    const p = peer((mse) => mse === 0);
    await dialWithPolicy("prefer", "a:1", memory, p.dial);
    expect(p.dials).toEqual([BOTH, 0]);
    expect(memory.get("a:1")).toBe("plaintext");
    await dialWithPolicy("prefer", "a:1", memory, p.dial);
    expect(p.dials).toEqual([BOTH, 0, 0]);
  });

  it("prefer: an unreachable peer is not dialled again in plaintext", async () => {
    const p = peer(() => false, "connect");
    await expect(dialWithPolicy("prefer", "a:1", new EncryptionMemory(), p.dial)).rejects.toThrow(HandshakeFailure);
    expect(p.dials).toEqual([BOTH]);
  });

  it("prefer: a remembered plaintext peer that now refuses plaintext is forgotten, so the next dial is encrypted", async () => {
    const memory = new EncryptionMemory();
    memory.set("a:1", "plaintext");
    const p = peer((mse) => mse !== 0);
    await expect(dialWithPolicy("prefer", "a:1", memory, p.dial)).rejects.toThrow("plaintext refused");
    await dialWithPolicy("prefer", "a:1", memory, p.dial);
    expect(p.dials).toEqual([0, BOTH]);
  });

  it("require: RC4 only, never plaintext, and the failure says the peer refused encryption", async () => {
    const p = peer(() => false);
    await expect(dialWithPolicy("require", "a:1", new EncryptionMemory(), p.dial)).rejects.toThrow(
      "peer refused encryption, which is required: peer closed the connection during the encrypted handshake",
    );
    expect(p.dials).toEqual([MSE_METHOD.rc4]);
  });

  it("disable: plaintext only", async () => {
    const p = peer(() => true);
    await dialWithPolicy("disable", "a:1", new EncryptionMemory(), p.dial);
    expect(p.dials).toEqual([0]);
  });
});
