import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import {
  SHOAL_UT_PEX_ID,
  UT_PEX,
  decodeExtensionHandshake,
  decodePexMessage,
  encodeMessage,
  encodePexMessage,
  MessageDecoder,
  type ExtensionHandshake,
  type PexMessage,
  type PexPeer,
} from "@shoal/wire";
import { answerExtensionHandshake } from "./extension-peer-socket.js";

/** The id this peer asks to get ut_pex messages with. */
export const PEX_PEER_UT_PEX_ID = 9;

export interface PexPeerOptions {
  readonly infoHash: Uint8Array;
  /** Peers it tells each connection of, in one ut_pex message right after the handshakes. */
  readonly tell?: readonly PexPeer[];
}

export interface PexTestPeer {
  readonly ip: string;
  readonly port: number;
  /** The extension handshakes received, one per connection that sent one. */
  readonly handshakes: () => readonly ExtensionHandshake[];
  /** The ut_pex messages received. */
  readonly received: () => readonly PexMessage[];
  /** Extended messages received that were neither the handshake nor ut_pex. */
  readonly otherExtended: () => number;
  close(): Promise<void>;
}

/**
 * A peer on 127.0.0.1 that speaks BitTorrent's handshake, the extension handshake and ut_pex
 * (BEP 11), and nothing else: it has no pieces. It records what the remote's extension handshake
 * offers and every PEX message it gets, and sends its own `tell` list at once, with the id the
 * remote asked for or, when the remote offered no ut_pex, with shoal's id all the same: what a
 * peer that ignores a private torrent's missing ut_pex would send.
 */
export async function startPexPeer(o: PexPeerOptions): Promise<PexTestPeer> {
  const sockets = new Set<Socket>();
  const handshakes: ExtensionHandshake[] = [];
  const received: PexMessage[] = [];
  let otherExtended = 0;
  let port = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const decoder = new MessageDecoder({ pieceCount: null }, (m) => {
      if (m.type !== "extended") return;
      if (m.id === 0) {
        const hs = decodeExtensionHandshake(m.payload);
        handshakes.push(hs);
        if (o.tell && o.tell.length > 0) {
          const id = hs.extensions.get(UT_PEX) ?? SHOAL_UT_PEX_ID;
          socket.write(encodeMessage({ type: "extended", id, payload: encodePexMessage({ added: o.tell.map((p) => ({ ...p, flags: 0 })), dropped: [] }) }));
        }
        return;
      }
      if (m.id === PEX_PEER_UT_PEX_ID) received.push(decodePexMessage(m.payload));
      else otherExtended++;
    });
    answerExtensionHandshake(socket, o.infoHash, () => ({ extensions: { [UT_PEX]: PEX_PEER_UT_PEX_ID }, listenPort: port }), decoder);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  return {
    ip: "127.0.0.1",
    port,
    handshakes: () => handshakes,
    received: () => received,
    otherExtended: () => otherExtended,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
