import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { encodeExtensionHandshake, encodeHandshake, encodeMessage, HandshakeDecoder, RESERVED_BITS, type ExtensionHandshakeFields, type MessageDecoder } from "@shoal/wire";

/**
 * The accepting side of a plaintext BEP 3 handshake for the test peers that speak only extension
 * messages: once the dialler's handshake is in, answers it for `infoHash` with the extension bit
 * and `extensionHandshake`, then feeds everything after it to `decoder`. Anything that is not a
 * plaintext BitTorrent handshake (an encrypted one, say) ends the connection, and the dialler
 * retries in plaintext.
 */
export function answerExtensionHandshake(socket: Socket, infoHash: Uint8Array, extensionHandshake: () => ExtensionHandshakeFields, decoder: MessageDecoder): void {
  const handshake = new HandshakeDecoder();
  let open = false;
  socket.on("data", (chunk: Buffer) => {
    try {
      if (open) return decoder.push(chunk);
      const done = handshake.push(chunk);
      if (!done) return;
      open = true;
      socket.write(encodeHandshake({ reserved: RESERVED_BITS.make({ extensionProtocol: true }), infoHash, peerId: randomBytes(20) }));
      socket.write(encodeMessage({ type: "extended", id: 0, payload: encodeExtensionHandshake(extensionHandshake()) }));
      decoder.push(done.rest);
    } catch {
      socket.destroy();
    }
  });
}
