import type { Socket } from "node:net";
import {
  decodeExtensionHandshake,
  decodeMetadataMessage,
  encodeExtensionHandshake,
  encodeMessage,
  encodeMetadataMessage,
  MessageDecoder,
  RESERVED_BITS,
  SHOAL_UT_METADATA_ID,
  UT_METADATA,
  type Message,
} from "@shoal/wire";
import { dialPeer, dialWithPolicy, type EncryptionMemory, type EncryptionPolicy, type Handshaken } from "@shoal/wire-net";

/** Pieces requested from one peer at once: the BEP's 16 KiB each, a few in flight hides latency. */
const REQUESTS_IN_FLIGHT = 4;

export interface MetadataSessionEvents {
  /** The peer's extension handshake announced a size (checked against the limit by the caller). */
  onSize(size: number): boolean;
  /** Which piece to ask this peer for next; undefined when none is left to ask for. */
  nextPiece(): number | undefined;
  onPiece(piece: number, data: Uint8Array): void;
  /** A request this peer will not answer (it rejected it, or the session ended with it in flight). */
  onRequestDropped(piece: number): void;
}

export interface MetadataSessionOptions {
  readonly ip: string;
  readonly port: number;
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly maxMetadataBytes: number;
  /** The whole session: connect, handshakes, pieces. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Protocol encryption (MSE/PE), as the workers dial: the same peers take the same policy. */
  readonly encryption: EncryptionPolicy;
  /** What worked with each peer so far (plaintext-only peers are dialled plaintext first). */
  readonly memory: EncryptionMemory;
}

/** Connect and each handshake step of one dial: a peer that is there answers within seconds. */
const DIAL_STEP_TIMEOUT_MS = 10_000;

/**
 * One connection that fetches metadata pieces from a peer (BEP 9 over the BEP 10 extension
 * protocol). It is dialled as a worker dials (`dialWithPolicy`): under `prefer` encrypted first
 * and once more in plaintext if the peer drops that, under `require` encrypted only, so a peer
 * that takes only encrypted connections serves the metadata too. Resolves when the peer has
 * nothing more to give us (no piece left to ask for, or the caller's signal aborted); rejects
 * with a one-line reason when the peer cannot help (refused, no extension protocol, no
 * ut_metadata, a bad message, timeout). The socket is always closed.
 */
export async function fetchFromPeer(o: MetadataSessionOptions, events: MetadataSessionEvents): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const stepMs = Math.min(DIAL_STEP_TIMEOUT_MS, o.timeoutMs);
  let h: Handshaken;
  try {
    h = await dialWithPolicy(o.encryption, `${o.ip}:${o.port}`, o.memory, (mse) => dialPeer(o.ip, o.port, o.infoHash, o.peerId, stepMs, mse));
  } catch (err) {
    throw new Error(`connection failed: ${(err as Error).message}`);
  }
  if (o.signal.aborted) {
    h.socket.destroy();
    return;
  }
  if (!RESERVED_BITS.extensionProtocol(h.handshake.reserved)) {
    h.socket.destroy();
    throw new Error("the peer does not speak the extension protocol");
  }
  return exchange(h, o, events, Math.max(1, deadline - Date.now()));
}

/** The BEP 10 and BEP 9 messages of a session, over a connection whose handshakes are done. */
function exchange(h: Handshaken, o: MetadataSessionOptions, events: MetadataSessionEvents, timeoutMs: number): Promise<void> {
  const socket: Socket = h.socket;
  return new Promise<void>((resolve, reject) => {
    const inFlight = new Set<number>();
    let peerMetadataId = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
      for (const p of inFlight) events.onRequestDropped(p);
      inFlight.clear();
      h.input.setHandler(undefined);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish();
    const timer = setTimeout(() => finish(new Error(`no metadata within ${Math.round(o.timeoutMs / 1000)} s`)), timeoutMs);
    o.signal.addEventListener("abort", onAbort, { once: true });

    const send = (m: Message) => {
      const bytes = encodeMessage(m);
      // A fresh buffer of this call's: encrypted in place on an RC4 connection.
      h.encrypt?.process(bytes);
      socket.write(bytes);
    };
    const requestMore = () => {
      while (inFlight.size < REQUESTS_IN_FLIGHT) {
        const piece = events.nextPiece();
        if (piece === undefined) break;
        inFlight.add(piece);
        send({ type: "extended", id: peerMetadataId, payload: encodeMetadataMessage({ type: "request", piece }) });
      }
      if (inFlight.size === 0) finish();
    };
    const onMessage = (m: Message) => {
      if (m.type !== "extended") return;
      if (m.id === 0) {
        const hs = decodeExtensionHandshake(m.payload);
        const id = hs.extensions.get(UT_METADATA);
        if (id === undefined) return finish(new Error("the peer does not offer ut_metadata"));
        if (hs.metadataSize === undefined) return finish(new Error("the peer has no metadata to give (no metadata_size)"));
        if (hs.metadataSize > o.maxMetadataBytes) {
          return finish(new Error(`the peer announces ${hs.metadataSize} bytes of metadata, over the limit of ${o.maxMetadataBytes}`));
        }
        if (!events.onSize(hs.metadataSize)) return finish(new Error(`the peer announces metadata of ${hs.metadataSize} bytes, unlike other peers`));
        peerMetadataId = id;
        return requestMore();
      }
      if (m.id !== SHOAL_UT_METADATA_ID || peerMetadataId === 0) return;
      const msg = decodeMetadataMessage(m.payload, o.maxMetadataBytes);
      if (msg.type === "request") {
        // We have nothing to give yet: say so, as the BEP asks.
        send({ type: "extended", id: peerMetadataId, payload: encodeMetadataMessage({ type: "reject", piece: msg.piece }) });
        return;
      }
      if (!inFlight.delete(msg.piece)) return;
      if (msg.type === "reject") {
        events.onRequestDropped(msg.piece);
        return finish(new Error(`the peer rejected metadata piece ${msg.piece}`));
      }
      events.onPiece(msg.piece, msg.data);
      requestMore();
    };

    // The piece count is unknown until the metadata is in: bitfields of any length are read past.
    const decoder = new MessageDecoder({ pieceCount: null }, onMessage);
    const push = (chunk: Uint8Array) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        finish(new Error(`bad message: ${(err as Error).message}`));
      }
    };
    socket.on("close", () => finish(new Error("the peer closed the connection")));
    send({ type: "extended", id: 0, payload: encodeExtensionHandshake({ extensions: { [UT_METADATA]: SHOAL_UT_METADATA_ID }, client: "shoal/0.1" }) });
    // What came with the peer's handshake first, then what arrived since (the input kept it).
    push(h.rest);
    if (!settled) h.input.setHandler(push);
    if (socket.destroyed) finish(new Error("the peer closed the connection"));
  });
}
