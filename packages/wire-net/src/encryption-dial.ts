import { MSE_METHOD } from "@shoal/wire";
import type { Handshaken } from "./handshake.js";
import { HandshakeFailure, mseMethodsFor, type EncryptionPolicy } from "./mse-session.js";

/**
 * Peers whose way of connecting we learnt, at most this many per torrent: a swarm's peer list
 * is bounded by the address book, and a forgotten peer costs one encrypted attempt again.
 */
const REMEMBERED_PEERS = 4096;

/** What worked with each peer last time: "plaintext" peers are dialled plaintext first. */
export class EncryptionMemory {
  private readonly worked = new Map<string, "encrypted" | "plaintext">();

  get(key: string): "encrypted" | "plaintext" | undefined {
    return this.worked.get(key);
  }

  set(key: string, how: "encrypted" | "plaintext"): void {
    this.worked.delete(key);
    this.worked.set(key, how);
    // Maps iterate in insertion order: the first entry is the peer learnt longest ago.
    if (this.worked.size > REMEMBERED_PEERS) this.worked.delete(this.worked.keys().next().value as string);
  }

  forget(key: string): void {
    this.worked.delete(key);
  }
}

/** Dials with a mask of MSE methods (0 = plaintext). */
export type Dial = (mseMethods: number) => Promise<Handshaken>;

/**
 * One connection attempt under the worker's encryption policy. `prefer` opens with MSE, offering
 * RC4 and plaintext as libtorrent does by default (the answering peer picks), and dials once more
 * in plaintext when the peer connected but dropped or refused the encrypted handshake: peers
 * with encryption disabled read our Ya as a bad BEP 3 handshake and hang up. What worked is
 * remembered, so a plaintext-only peer costs the failed attempt once. `require` offers RC4 only
 * and never falls back; `disable` dials plaintext.
 */
export async function dialWithPolicy(policy: EncryptionPolicy, key: string, memory: EncryptionMemory, dial: Dial): Promise<Handshaken> {
  if (policy === "disable") return dial(0);
  if (policy === "require") {
    try {
      return await dial(MSE_METHOD.rc4);
    } catch (err) {
      if (err instanceof HandshakeFailure && err.stage === "encryption") {
        throw new HandshakeFailure(`peer refused encryption, which is required: ${err.message}`, "encryption");
      }
      throw err;
    }
  }
  if (memory.get(key) === "plaintext") {
    try {
      return await dial(0);
    } catch (err) {
      // The peer may have changed its settings: next time starts with encryption again.
      if (err instanceof HandshakeFailure && err.stage !== "connect") memory.forget(key);
      throw err;
    }
  }
  try {
    const h = await dial(mseMethodsFor(policy));
    memory.set(key, "encrypted");
    return h;
  } catch (err) {
    if (!(err instanceof HandshakeFailure) || err.stage !== "encryption") throw err;
  }
  const h = await dial(0);
  memory.set(key, "plaintext");
  return h;
}
