import { MSE_KEY_BYTES, MSE_PRIVATE_KEY_BYTES, mseHash, msePublicKey, mseSharedSecret } from "./mse-dh.js";
import { Rc4 } from "./rc4.js";
import { concat, equal, indexOf, readUint16, readUint32, writeUint16, writeUint32 } from "./mse-bytes.js";
import { WireError } from "./wire-error.js";

/** crypto_provide / crypto_select bits. */
export const MSE_METHOD = { plaintext: 0x01, rc4: 0x02 } as const;
export type MseMethodName = keyof typeof MSE_METHOD;

/** PadA, PadB, PadC and PadD are at most 512 bytes: this bounds both sync searches. */
export const MSE_MAX_PAD_BYTES = 512;
/** The verification constant: 8 zero bytes, sent encrypted so the receiver can find the stream start. */
export const MSE_VC_BYTES = 8;
/** Each RC4 stream drops its first 1024 bytes (the weak start of the keystream). */
export const MSE_RC4_DISCARD_BYTES = 1024;
/**
 * Largest initial payload (IA) accepted from an initiator. Clients put the 68-byte BEP 3 handshake
 * there, sometimes followed by their first messages; 64 KiB is what the 2-byte length allows, and
 * the default cap keeps a hostile peer from making us buffer that much before we know the torrent.
 */
export const MSE_DEFAULT_MAX_INITIAL_PAYLOAD_BYTES = 8 * 1024;
const HASH_BYTES = 20;

interface MseCommon {
  /** Methods our policy allows, a mask of MSE_METHOD bits; rc4 is chosen when both sides allow it. */
  readonly allowed: number;
  /** Random bytes: the private key and the padding come from it (injected for deterministic tests). */
  readonly randomBytes: (n: number) => Uint8Array;
}

export interface MseInitiatorOptions extends MseCommon {
  readonly role: "initiator";
  /** The torrent we dial for (SKEY). */
  readonly infoHash: Uint8Array;
  /** Sent encrypted inside step 3: the BEP 3 handshake, so it costs no extra round trip. */
  readonly initialPayload: Uint8Array;
}

export interface MseResponderOptions extends MseCommon {
  readonly role: "responder";
  /** Every torrent we would accept a connection for; the initiator's obfuscated hash picks one. */
  readonly infoHashes: readonly Uint8Array[];
  readonly maxInitialPayloadBytes?: number;
}

export type MseOptions = MseInitiatorOptions | MseResponderOptions;

/** A finished handshake: how the rest of the connection is carried. */
export interface MseResult {
  readonly method: MseMethodName;
  /** The torrent the connection is for (the responder learns it from the obfuscated hash). */
  readonly infoHash: Uint8Array;
  /** Responder: the initiator's initial payload, decrypted (usually its BEP 3 handshake). Initiator: empty. */
  readonly initialPayload: Uint8Array;
  /** Stream bytes that arrived after the handshake, already decrypted with `decrypt` (a copy). */
  readonly rest: Uint8Array;
  /** Encrypts everything we send from now on (null when plaintext was selected). */
  readonly encrypt: Rc4 | null;
  /** Decrypts everything we receive from now on (null when plaintext was selected). */
  readonly decrypt: Rc4 | null;
}

/** What one push asks of the caller: bytes to write to the peer, and the result once finished. */
export interface MseStep {
  readonly send: Uint8Array | null;
  readonly done: MseResult | null;
}

type Phase =
  | "public_key"
  | "sync"
  | "skey"
  | "provide"
  | "pad_c"
  | "ia_length"
  | "initial_payload"
  | "select"
  | "pad_d"
  | "done";

/**
 * Message Stream Encryption (MSE/PE) as libtorrent, Transmission, qBittorrent and aria2 speak it,
 * for either side of a connection, as a state machine over raw bytes: `start()` gives the first
 * bytes to send, each `push(chunk)` returns what to send next and, at the end, the ciphers and
 * the decrypted bytes that followed. It never touches a socket.
 *
 *   1 A->B: Ya, PadA
 *   2 B->A: Yb, PadB
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream
 *
 * Everything from the peer is hostile: each sync pattern must appear within the 512 bytes of
 * padding, lengths are checked before their bytes are awaited, and a violation throws a one-line
 * `WireError` (after which every push rethrows it). The buffer never holds more than the sync
 * window plus one chunk.
 */
export class MseHandshake {
  private phase: Phase = "public_key";
  private buf: Uint8Array = new Uint8Array(0);
  private failure: WireError | null = null;
  private readonly privateKey: Uint8Array;
  private secret: Uint8Array | null = null;
  private encrypt: Rc4 | null = null;
  private decrypt: Rc4 | null = null;
  /** The pattern the sync phase looks for: HASH('req1', S) or the encrypted VC. */
  private pattern: Uint8Array | null = null;
  private infoHash: Uint8Array | null;
  private provided = 0;
  private padLength = 0;
  private iaLength = 0;
  private initialPayload: Uint8Array = new Uint8Array(0);
  private method: MseMethodName = "plaintext";

  constructor(private readonly options: MseOptions) {
    if (options.role === "initiator" && options.infoHash.length !== HASH_BYTES) {
      throw new WireError("INVALID_ARGUMENT", `MSE info hash must be ${HASH_BYTES} bytes, got ${options.infoHash.length}`);
    }
    if ((options.allowed & (MSE_METHOD.plaintext | MSE_METHOD.rc4)) === 0) {
      throw new WireError("INVALID_ARGUMENT", `MSE allowed methods must include plaintext (1) or rc4 (2), got ${options.allowed}`);
    }
    if (options.role === "initiator" && options.initialPayload.length > 0xffff) {
      throw new WireError("INVALID_ARGUMENT", `MSE initial payload is limited to 65535 bytes, got ${options.initialPayload.length}`);
    }
    this.infoHash = options.role === "initiator" ? options.infoHash : null;
    this.privateKey = options.randomBytes(MSE_PRIVATE_KEY_BYTES);
  }

  /** The first bytes to send: Ya and PadA for the initiator; nothing for the responder, which answers Ya. */
  start(): Uint8Array {
    return this.options.role === "initiator" ? this.publicKeyAndPad() : new Uint8Array(0);
  }

  push(chunk: Uint8Array): MseStep {
    if (this.failure !== null) throw this.failure;
    if (this.phase === "done") throw new WireError("INVALID_STATE", "MSE handshake received bytes after it finished");
    this.buf = this.buf.length === 0 ? chunk.slice() : concat(this.buf, chunk);
    try {
      return this.options.role === "initiator" ? this.runInitiator() : this.runResponder();
    } catch (err) {
      this.failure =
        err instanceof WireError ? err : new WireError("MSE_BAD_FIELD", `MSE handshake failed: ${(err as Error).message}`, { cause: err });
      throw this.failure;
    }
  }

  private runInitiator(): MseStep {
    const send: Uint8Array[] = [];
    for (;;) {
      switch (this.phase) {
        case "public_key": {
          const yb = this.take(MSE_KEY_BYTES);
          if (yb === null) return step(send);
          this.secret = mseSharedSecret(this.privateKey, yb);
          const skey = this.infoHash!;
          this.encrypt = rc4For("keyA", this.secret, skey);
          const theirs = rc4For("keyB", this.secret, skey);
          // The responder's VC, encrypted: the pattern that ends PadB.
          this.pattern = theirs.keystream(MSE_VC_BYTES);
          this.decrypt = theirs;
          send.push(this.step3());
          this.phase = "sync";
          break;
        }
        case "sync":
          if (!this.sync("encrypted VC")) return step(send);
          this.phase = "select";
          break;
        case "select": {
          const f = this.takeDecrypted(4 + 2);
          if (f === null) return step(send);
          const selected = readUint32(f, 0);
          this.padLength = readUint16(f, 4);
          if (selected !== MSE_METHOD.rc4 && selected !== MSE_METHOD.plaintext) {
            throw new WireError("MSE_BAD_FIELD", `MSE crypto_select must be 1 (plaintext) or 2 (rc4), got ${selected}`);
          }
          if ((selected & this.options.allowed) === 0) {
            throw new WireError("MSE_NO_COMMON_METHOD", `peer selected ${methodName(selected)}, which we did not offer`);
          }
          checkPad(this.padLength, "PadD");
          this.method = methodName(selected);
          this.phase = "pad_d";
          break;
        }
        case "pad_d":
          if (this.takeDecrypted(this.padLength) === null) return step(send);
          return step(send, this.finish());
        default:
          throw new WireError("INVALID_STATE", `MSE initiator in phase ${this.phase}`);
      }
    }
  }

  private runResponder(): MseStep {
    const send: Uint8Array[] = [];
    for (;;) {
      switch (this.phase) {
        case "public_key": {
          const ya = this.take(MSE_KEY_BYTES);
          if (ya === null) return step(send);
          this.secret = mseSharedSecret(this.privateKey, ya);
          this.pattern = mseHash("req1", this.secret);
          send.push(this.publicKeyAndPad());
          this.phase = "sync";
          break;
        }
        case "sync":
          if (!this.sync("HASH('req1', S)")) return step(send);
          this.phase = "skey";
          break;
        case "skey": {
          const obfuscated = this.take(HASH_BYTES);
          if (obfuscated === null) return step(send);
          this.infoHash = this.matchInfoHash(obfuscated);
          this.decrypt = rc4For("keyA", this.secret!, this.infoHash);
          this.encrypt = rc4For("keyB", this.secret!, this.infoHash);
          this.phase = "provide";
          break;
        }
        case "provide": {
          const f = this.takeDecrypted(MSE_VC_BYTES + 4 + 2);
          if (f === null) return step(send);
          if (f.subarray(0, MSE_VC_BYTES).some((b) => b !== 0)) throw new WireError("MSE_BAD_FIELD", "MSE verification constant is not zero");
          this.provided = readUint32(f, MSE_VC_BYTES);
          this.padLength = readUint16(f, MSE_VC_BYTES + 4);
          checkPad(this.padLength, "PadC");
          this.phase = "pad_c";
          break;
        }
        case "pad_c":
          if (this.takeDecrypted(this.padLength) === null) return step(send);
          this.phase = "ia_length";
          break;
        case "ia_length": {
          const f = this.takeDecrypted(2);
          if (f === null) return step(send);
          this.iaLength = readUint16(f, 0);
          const max = (this.options as MseResponderOptions).maxInitialPayloadBytes ?? MSE_DEFAULT_MAX_INITIAL_PAYLOAD_BYTES;
          if (this.iaLength > max) throw new WireError("MSE_BAD_FIELD", `MSE initial payload of ${this.iaLength} bytes is over the limit of ${max}`);
          this.phase = "initial_payload";
          break;
        }
        case "initial_payload": {
          const ia = this.takeDecrypted(this.iaLength);
          if (ia === null) return step(send);
          this.initialPayload = ia;
          const common = this.provided & this.options.allowed;
          const selected = common & MSE_METHOD.rc4 ? MSE_METHOD.rc4 : common & MSE_METHOD.plaintext ? MSE_METHOD.plaintext : 0;
          if (selected === 0) {
            throw new WireError("MSE_NO_COMMON_METHOD", `peer offers crypto_provide ${this.provided}, our policy allows ${this.options.allowed}`);
          }
          this.method = methodName(selected);
          // PadD is left empty, as the deployed clients do: it is encrypted, so its length hides nothing.
          const reply = new Uint8Array(MSE_VC_BYTES + 4 + 2);
          writeUint32(reply, MSE_VC_BYTES, selected);
          this.encrypt!.process(reply);
          send.push(reply);
          return step(send, this.finish());
        }
        default:
          throw new WireError("INVALID_STATE", `MSE responder in phase ${this.phase}`);
      }
    }
  }

  /** Ya or Yb followed by 0 to 512 random bytes. */
  private publicKeyAndPad(): Uint8Array {
    const r = this.options.randomBytes(2);
    const padLength = ((r[0]! << 8) | r[1]!) % (MSE_MAX_PAD_BYTES + 1);
    return concat(msePublicKey(this.privateKey), this.options.randomBytes(padLength).subarray(0, padLength));
  }

  private step3(): Uint8Array {
    const o = this.options as MseInitiatorOptions;
    const s = this.secret!;
    const req2 = mseHash("req2", o.infoHash);
    const req3 = mseHash("req3", s);
    const obfuscated = req2.map((b, k) => b ^ req3[k]!);
    // VC, crypto_provide, len(PadC) = 0 (PadC is reserved and sent empty by everyone), len(IA), IA.
    const body = new Uint8Array(MSE_VC_BYTES + 4 + 2 + 2 + o.initialPayload.length);
    writeUint32(body, MSE_VC_BYTES, o.allowed & (MSE_METHOD.plaintext | MSE_METHOD.rc4));
    writeUint16(body, MSE_VC_BYTES + 6, o.initialPayload.length);
    body.set(o.initialPayload, MSE_VC_BYTES + 8);
    this.encrypt!.process(body);
    return concat(concat(mseHash("req1", s), obfuscated), body);
  }

  /**
   * Looks for the sync pattern in the buffer; the padding before it is at most 512 bytes, so a
   * buffer that long plus the pattern without it is a failure. On success the buffer starts
   * right after the pattern.
   */
  private sync(what: string): boolean {
    const p = this.pattern!;
    const found = indexOf(this.buf, p, MSE_MAX_PAD_BYTES);
    if (found >= 0) {
      this.buf = this.buf.subarray(found + p.length);
      return true;
    }
    if (this.buf.length >= MSE_MAX_PAD_BYTES + p.length) {
      throw new WireError("MSE_NO_SYNC", `MSE ${what} not found within ${MSE_MAX_PAD_BYTES} bytes of padding`);
    }
    return false;
  }

  private matchInfoHash(obfuscated: Uint8Array): Uint8Array {
    const req3 = mseHash("req3", this.secret!);
    const wanted = obfuscated.map((b, k) => b ^ req3[k]!);
    for (const ih of (this.options as MseResponderOptions).infoHashes) {
      if (equal(mseHash("req2", ih), wanted)) return ih;
    }
    throw new WireError("MSE_UNKNOWN_TORRENT", "MSE obfuscated info hash names no torrent we serve");
  }

  private finish(): MseResult {
    this.phase = "done";
    const rc4 = this.method === "rc4";
    const rest = this.buf.slice();
    this.buf = new Uint8Array(0);
    if (rc4) this.decrypt!.process(rest);
    return {
      method: this.method,
      infoHash: this.infoHash!,
      initialPayload: this.initialPayload,
      rest,
      encrypt: rc4 ? this.encrypt : null,
      decrypt: rc4 ? this.decrypt : null,
    };
  }

  /** The first `n` buffered bytes (a view), or null until that many arrived. */
  private take(n: number): Uint8Array | null {
    if (this.buf.length < n) return null;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Like `take`, decrypted with the peer's stream (a copy: the keystream advances exactly once). */
  private takeDecrypted(n: number): Uint8Array | null {
    const raw = this.take(n);
    if (raw === null) return null;
    const out = raw.slice();
    this.decrypt!.process(out);
    return out;
  }
}

/**
 * Tells a plaintext BEP 3 handshake from an MSE one by the first bytes a connecting peer sends:
 * "plaintext" once they are 19 followed by "BitTorrent protocol", "encrypted" as soon as one byte
 * differs, null while the bytes so far agree with both. A random Ya starts that way with odds
 * of 2^-160.
 */
export function classifyIncoming(bytes: Uint8Array): "plaintext" | "encrypted" | null {
  const n = Math.min(bytes.length, PLAINTEXT_PREFIX.length);
  for (let k = 0; k < n; k++) if (bytes[k] !== PLAINTEXT_PREFIX[k]) return "encrypted";
  return n === PLAINTEXT_PREFIX.length ? "plaintext" : null;
}

const PLAINTEXT_PREFIX = Uint8Array.from([19, ...Array.from("BitTorrent protocol", (c) => c.charCodeAt(0))]);

function rc4For(which: "keyA" | "keyB", secret: Uint8Array, skey: Uint8Array): Rc4 {
  const rc4 = new Rc4(mseHash(which, secret, skey));
  rc4.skip(MSE_RC4_DISCARD_BYTES);
  return rc4;
}

function step(send: Uint8Array[], done: MseResult | null = null): MseStep {
  const out = send.length === 0 ? null : send.length === 1 ? send[0]! : send.reduce((a, b) => concat(a, b));
  return { send: out, done };
}

function checkPad(length: number, what: string): void {
  if (length > MSE_MAX_PAD_BYTES) throw new WireError("MSE_BAD_FIELD", `MSE ${what} length ${length} is over ${MSE_MAX_PAD_BYTES}`);
}

function methodName(bit: number): MseMethodName {
  return bit === MSE_METHOD.rc4 ? "rc4" : "plaintext";
}
