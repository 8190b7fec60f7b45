import { connect, type Socket } from "node:net";
import {
  decodeExtensionHandshake,
  decodeMetadataMessage,
  encodeExtensionHandshake,
  encodeHandshake,
  encodeMessage,
  encodeMetadataMessage,
  HandshakeDecoder,
  MessageDecoder,
  RESERVED_BITS,
  SHOAL_UT_METADATA_ID,
  UT_METADATA,
  type Message,
} from "@shoal/wire";

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
}

/**
 * One connection that fetches metadata pieces from a peer (BEP 9 over the BEP 10 extension
 * protocol). Resolves when the peer has nothing more to give us (no piece left to ask for, or the
 * caller's signal aborted); rejects with a one-line reason when the peer cannot help (refused,
 * no extension protocol, no ut_metadata, a bad message, timeout). The socket is always closed.
 */
export function fetchFromPeer(o: MetadataSessionOptions, events: MetadataSessionEvents): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const inFlight = new Set<number>();
    let socket: Socket | undefined;
    let peerMetadataId = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
      for (const p of inFlight) events.onRequestDropped(p);
      inFlight.clear();
      socket?.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish();
    const timer = setTimeout(() => finish(new Error(`no metadata within ${Math.round(o.timeoutMs / 1000)} s`)), o.timeoutMs);
    o.signal.addEventListener("abort", onAbort, { once: true });
    if (o.signal.aborted) return finish();

    const send = (m: Message) => socket!.write(encodeMessage(m));
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

    let handshakeDone = false;
    const handshake = new HandshakeDecoder();
    // The piece count is unknown until the metadata is in: bitfields of any length are read past.
    const decoder = new MessageDecoder({ pieceCount: null }, onMessage);
    socket = connect({ host: o.ip, port: o.port });
    socket.setNoDelay(true);
    socket.on("error", (err) => finish(new Error(`connection failed: ${err.message}`)));
    socket.on("close", () => finish(new Error("the peer closed the connection")));
    socket.on("connect", () => {
      socket!.write(encodeHandshake({ reserved: RESERVED_BITS.make({ extensionProtocol: true, fast: true }), infoHash: o.infoHash, peerId: o.peerId }));
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        if (!handshakeDone) {
          const done = handshake.push(chunk);
          if (!done) return;
          handshakeDone = true;
          if (!Buffer.from(done.handshake.infoHash).equals(Buffer.from(o.infoHash))) return finish(new Error("the peer answered for another torrent"));
          if (!RESERVED_BITS.extensionProtocol(done.handshake.reserved)) return finish(new Error("the peer does not speak the extension protocol"));
          send({ type: "extended", id: 0, payload: encodeExtensionHandshake({ extensions: { [UT_METADATA]: SHOAL_UT_METADATA_ID }, client: "shoal/0.1" }) });
          decoder.push(done.rest);
          return;
        }
        decoder.push(chunk);
      } catch (err) {
        finish(new Error(`bad message: ${(err as Error).message}`));
      }
    });
  });
}
