export { WireError } from "./wire-error.js";
export type { WireErrorCode } from "./wire-error.js";
export {
  BLOCK_SIZE_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_PIECE_COUNT,
} from "./limits.js";
export type { DecoderLimits } from "./limits.js";
export {
  PROTOCOL_STRING,
  HANDSHAKE_LENGTH_BYTES,
  INFO_HASH_LENGTH_BYTES,
  PEER_ID_LENGTH_BYTES,
  RESERVED_LENGTH_BYTES,
  encodeHandshake,
  decodeHandshake,
} from "./bep3-handshake.js";
export type { Handshake } from "./bep3-handshake.js";
export { RESERVED_BITS } from "./reserved-bits.js";
export type { ReservedBitOptions } from "./reserved-bits.js";
export { HandshakeDecoder } from "./handshake-decoder.js";
export type { HandshakeResult } from "./handshake-decoder.js";
export { MESSAGE_ID, LENGTH_PREFIX_BYTES } from "./message.js";
export type { Message, MessageType } from "./message.js";
export { MessageDecoder } from "./message-decoder.js";
export type { MessageDecoderOptions } from "./message-decoder.js";
export {
  KEEP_ALIVE,
  PIECE_MESSAGE_HEADER_BYTES,
  encodeMessage,
  encodeRequest,
  writeRequest,
  REQUEST_MESSAGE_BYTES,
  encodeHave,
  encodePieceHeader,
  encodePieceParts,
} from "./message-encoder.js";
export { Bitfield } from "./bitfield.js";
export { PEER_ID_PREFIX, makePeerId } from "./bep20-peer-id.js";
export { METADATA_PIECE_BYTES, UT_METADATA, SHOAL_UT_METADATA_ID, DEFAULT_MAX_METADATA_BYTES, encodeMetadataMessage, decodeMetadataMessage } from "./bep9-metadata.js";
export type { MetadataMessage } from "./bep9-metadata.js";
export { MetadataAssembler } from "./bep9-metadata-assembler.js";
export type { AssembleResult } from "./bep9-metadata-assembler.js";
export { encodeExtensionHandshake, decodeExtensionHandshake } from "./bep10-extension-handshake.js";
export type { ExtensionHandshake, ExtensionHandshakeFields } from "./bep10-extension-handshake.js";
export { UT_PEX, SHOAL_UT_PEX_ID, PEX_FLAGS, DEFAULT_MAX_PEX_PEERS, encodePexMessage, decodePexMessage } from "./bep11-pex.js";
export type { PexAdded, PexMessage, PexPeer } from "./bep11-pex.js";
export { Rc4 } from "./rc4.js";
export { MSE_PRIME, MSE_GENERATOR, MSE_KEY_BYTES, MSE_PRIVATE_KEY_BYTES, msePublicKey, mseSharedSecret, mseHash } from "./mse-dh.js";
export {
  MSE_METHOD,
  MSE_MAX_PAD_BYTES,
  MSE_VC_BYTES,
  MSE_RC4_DISCARD_BYTES,
  MSE_DEFAULT_MAX_INITIAL_PAYLOAD_BYTES,
  MseHandshake,
  classifyIncoming,
} from "./mse-handshake.js";
export type { MseMethodName, MseOptions, MseInitiatorOptions, MseResponderOptions, MseResult, MseStep } from "./mse-handshake.js";
