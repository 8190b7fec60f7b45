export { SocketInput, READ_BUFFER_BYTES } from "./socket-input.js";
export { ENCRYPTION_POLICIES, HandshakeFailure, mseMethodsFor, runMse } from "./mse-session.js";
export type { EncryptionPolicy, HandshakeStage } from "./mse-session.js";
export { OUR_RESERVED, dialPeer, readHandshake } from "./handshake.js";
export type { Handshaken } from "./handshake.js";
export { EncryptionMemory, dialWithPolicy } from "./encryption-dial.js";
export type { Dial } from "./encryption-dial.js";
export { acceptHandshake } from "./incoming-handshake.js";
export type { AcceptedHandshake } from "./incoming-handshake.js";
