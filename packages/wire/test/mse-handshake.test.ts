import { describe, expect, it } from "vitest";
import { MSE_METHOD, MseHandshake, WireError, classifyIncoming, encodeHandshake, msePublicKey, mseSharedSecret } from "@shoal/wire";

// Expected values computed independently with python3 (pow() over the MSE prime, hashlib.sha1 and
// a textbook RC4) for private keys 01..14 (initiator) and 65..78 (responder) and this info hash.
const XA = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
const XB = Uint8Array.from({ length: 20 }, (_, i) => i + 101);
const INFO_HASH = Buffer.from("0123456789abcdef0123456789abcdef01234567", "hex");
const V = {
  ya: "96e112dab29e8c5272accb9b17b26887ce54a144a4e3b697c7d159b7a817e556b0918db2b4c658e02a87f7e5fb14b18a553e084cbf3dad2d30f16596ccb982d406258c61b30c5c1dae2ddc60bdbd48d79896312aad63238c39e1a633821eb693",
  yb: "d32ae8cedd0de9ca4fe67e35626bb8c7cdb0966727d899f6a62fdb2b68817f9ddc4b684e3eb34030b8dba4e028b7cff3264020340cb4eab61923cdc4e4216ba873368d83f0a38e497f1f6b4e3d2012eb91a3ee6056f966f9eae732089b6fa46e",
  s: "d05ed96a95215a89b44073afe5d0b1626289ac01cff7849392948b2470b346547e944d7562a897ae86976bc389999083ec09572dbdc8ed7f6a0a86a1aa42a3ca04209b72d8239890360435640643b76479ed7836f1857963fcc7cb72084c3ab4",
  req1: "78fffb0f23055a793ff7609f359e04e383ec3505",
  obfuscated: "a04924168a6f942b3543c6d8708df391c73d93d2",
  /** Keystream bytes 1024..1039 of RC4(HASH('keyA', S, SKEY)) and of keyB. */
  keyA: "1f4e7faf3bea588c90307d5f4716ba86",
  keyB: "ce37d371583c6bd4c59c6b9d51e956dd",
};
const hex = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString("hex");
const xor = (a: string, b: number[]) => hex(Buffer.from(a, "hex").map((v, i) => v ^ (b[i] ?? 0)));

/** Random bytes from a script: the private key first, then pad lengths and pad bytes. */
function scripted(...values: Uint8Array[]): (n: number) => Uint8Array {
  const queue = [...values];
  return (n) => {
    const v = queue.shift() ?? new Uint8Array(n);
    expect(v.length).toBe(n);
    return v;
  };
}

describe("MSE Diffie-Hellman", () => {
  it("computes the public keys and the shared secret of the reference vector", () => {
    expect(hex(msePublicKey(XA))).toBe(V.ya);
    expect(hex(msePublicKey(XB))).toBe(V.yb);
    expect(hex(mseSharedSecret(XA, Buffer.from(V.yb, "hex")))).toBe(V.s);
    expect(hex(mseSharedSecret(XB, Buffer.from(V.ya, "hex")))).toBe(V.s);
  });

  it("refuses a peer key of 0, 1 or P-1 and above", () => {
    expect(() => mseSharedSecret(XA, new Uint8Array(96))).toThrow(WireError);
    expect(() => mseSharedSecret(XA, Uint8Array.from({ length: 96 }, (_, i) => (i === 95 ? 1 : 0)))).toThrow("outside the group");
    expect(() => mseSharedSecret(XA, new Uint8Array(96).fill(0xff))).toThrow("outside the group");
  });
});

describe("MseHandshake against the reference vector", () => {
  it("initiator: Ya and PadA, then step 3 with the hashes and keyA-encrypted fields", () => {
    const a = new MseHandshake({
      role: "initiator",
      allowed: MSE_METHOD.rc4 | MSE_METHOD.plaintext,
      infoHash: INFO_HASH,
      initialPayload: new Uint8Array(0),
      randomBytes: scripted(XA, Uint8Array.of(0, 5), Uint8Array.of(9, 9, 9, 9, 9)),
    });
    const first = a.start();
    expect(hex(first)).toBe(V.ya + "0909090909");
    const step = a.push(Buffer.from(V.yb, "hex"));
    expect(step.done).toBeNull();
    // VC (8 zeros), crypto_provide 3, len(PadC) 0, len(IA) 0, encrypted with the keyA stream.
    expect(hex(step.send)).toBe(V.req1 + V.obfuscated + xor(V.keyA, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]));
    // Step 4 from the responder: PadB of 3 bytes, then VC, crypto_select 2, len(PadD) 0, keyB-encrypted.
    const step4 = Buffer.concat([Buffer.from("abcdef", "hex"), Buffer.from(xor(V.keyB.slice(0, 28), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]), "hex")]);
    const done = a.push(step4).done!;
    expect(done.method).toBe("rc4");
    expect(done.rest.length).toBe(0);
    // The peer's stream goes on at keystream byte 1038 of keyB (step 4 used 14).
    const probe = new Uint8Array(1);
    done.decrypt!.process(probe);
    expect(probe[0]).toBe(Buffer.from(V.keyB, "hex")[14]);
  });

  it("responder: Yb after Ya, finds the torrent behind the obfuscated hash, selects rc4", () => {
    const other = Buffer.alloc(20, 7);
    const b = new MseHandshake({
      role: "responder",
      allowed: MSE_METHOD.rc4 | MSE_METHOD.plaintext,
      infoHashes: [other, INFO_HASH],
      randomBytes: scripted(XB, Uint8Array.of(0, 0)),
    });
    expect(b.start().length).toBe(0);
    const s1 = b.push(Buffer.concat([Buffer.from(V.ya, "hex"), Buffer.alloc(7, 1)]));
    expect(hex(s1.send)).toBe(V.yb);
    const body = Buffer.from(xor(V.keyA, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]), "hex");
    const s3 = b.push(Buffer.concat([Buffer.from(V.req1 + V.obfuscated, "hex"), body]));
    expect(hex(s3.send)).toBe(xor(V.keyB.slice(0, 28), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]));
    expect(hex(s3.done!.infoHash)).toBe(hex(INFO_HASH));
    expect(s3.done!.method).toBe("rc4");
  });
});

describe("MseHandshake limits and errors", () => {
  const rnd = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

  it("responder fails when HASH('req1', S) is not within 512 bytes of padding", () => {
    const b = new MseHandshake({ role: "responder", allowed: 3, infoHashes: [INFO_HASH], randomBytes: rnd });
    b.push(Buffer.from(V.ya, "hex"));
    expect(() => b.push(Buffer.alloc(600, 0x42))).toThrow("MSE HASH('req1', S) not found within 512 bytes of padding");
    // Failed for good: the same error again.
    expect(() => b.push(Buffer.alloc(1))).toThrow("not found within 512 bytes");
  });

  it("responder refuses a torrent it does not serve, and a policy that shares no method", () => {
    const pair = (aAllowed: number, bAllowed: number, hashes: Uint8Array[]) => {
      const a = new MseHandshake({ role: "initiator", allowed: aAllowed, infoHash: INFO_HASH, initialPayload: new Uint8Array(0), randomBytes: rnd });
      const b = new MseHandshake({ role: "responder", allowed: bAllowed, infoHashes: hashes, randomBytes: rnd });
      const yb = b.push(a.start()).send!;
      return () => b.push(a.push(yb).send!);
    };
    expect(pair(3, 3, [Buffer.alloc(20)])).toThrow("MSE obfuscated info hash names no torrent we serve");
    expect(pair(MSE_METHOD.plaintext, MSE_METHOD.rc4, [INFO_HASH])).toThrow("peer offers crypto_provide 1, our policy allows 2");
  });

  it("tells a plaintext handshake from an encrypted one by its first bytes", () => {
    const plain = encodeHandshake({ reserved: new Uint8Array(8), infoHash: INFO_HASH, peerId: Buffer.alloc(20) });
    expect(classifyIncoming(plain.subarray(0, 5))).toBeNull();
    expect(classifyIncoming(plain)).toBe("plaintext");
    expect(classifyIncoming(Buffer.from(V.ya, "hex"))).toBe("encrypted");
    expect(classifyIncoming(Buffer.concat([plain.subarray(0, 10), Buffer.of(0)]))).toBe("encrypted");
  });
});
