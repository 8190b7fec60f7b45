import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import {
  decodeExtensionHandshake,
  decodeMetadataMessage,
  encodeMessage,
  encodeMetadataMessage,
  MessageDecoder,
  METADATA_PIECE_BYTES,
  UT_METADATA,
} from "@shoal/wire";
import { answerExtensionHandshake } from "./extension-peer-socket.js";

/** The id this peer asks to get ut_metadata messages with. */
const UT_METADATA_ID = 2;

export interface MetadataPeerOptions {
  readonly infoHash: Uint8Array;
  /**
   * honest: serves `info` as it is. lie: answers each request with random bytes of the right
   * length for `size`. oversize: announces a metadata_size of 512 MiB, far over any limit.
   */
  readonly mode: "honest" | "lie" | "oversize";
  /** The info dict (honest), or just its size (lie, oversize). */
  readonly info?: Uint8Array;
  readonly size?: number;
}

export interface MetadataPeer {
  readonly ip: string;
  readonly port: number;
  /** ut_metadata requests answered so far. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/**
 * A peer on 127.0.0.1 that speaks just enough BitTorrent (BEP 3 handshake, BEP 10 extension
 * handshake, BEP 9 ut_metadata) to hand out metadata, true or false, and nothing else: the
 * counterpart of tests of a magnet download among honest and hostile peers.
 */
export async function startMetadataPeer(o: MetadataPeerOptions): Promise<MetadataPeer> {
  const size = o.info?.length ?? o.size ?? 0;
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let theirId = 0;
    const decoder = new MessageDecoder({ pieceCount: null }, (m) => {
      if (m.type !== "extended") return;
      if (m.id === 0) {
        theirId = decodeExtensionHandshake(m.payload).extensions.get(UT_METADATA) ?? 0;
        return;
      }
      if (m.id !== UT_METADATA_ID || theirId === 0) return;
      const msg = decodeMetadataMessage(m.payload);
      if (msg.type !== "request") return;
      requests++;
      const from = msg.piece * METADATA_PIECE_BYTES;
      const length = Math.min(METADATA_PIECE_BYTES, size - from);
      const data = o.mode === "honest" && o.info ? o.info.subarray(from, from + length) : randomBytes(length);
      socket.write(encodeMessage({ type: "extended", id: theirId, payload: encodeMetadataMessage({ type: "data", piece: msg.piece, totalSize: size, data }) }));
    });
    answerExtensionHandshake(socket, o.infoHash, () => ({ extensions: { [UT_METADATA]: UT_METADATA_ID }, metadataSize: o.mode === "oversize" ? 512 * 1024 * 1024 : size }), decoder);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    ip: "127.0.0.1",
    port,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
