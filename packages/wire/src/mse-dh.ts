import { createHash } from "node:crypto";
import { WireError } from "./wire-error.js";

/**
 * The Diffie-Hellman group of Message Stream Encryption: the 768-bit MODP prime (RFC 2409 group 1)
 * with generator 2. Public keys and the shared secret travel as 96 big-endian bytes, leading
 * zeros kept.
 */
export const MSE_PRIME = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563",
);
export const MSE_GENERATOR = 2n;
/** 768 bits. */
export const MSE_KEY_BYTES = 96;
/**
 * Private keys are 160 bits, as the deployed clients use: the exponent's size sets the cost of
 * the two modular exponentiations per connection, and 160 bits keeps the 80-bit security the
 * 768-bit group offers at all.
 */
export const MSE_PRIVATE_KEY_BYTES = 20;

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** `n` as exactly `length` big-endian bytes. */
export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let k = length - 1; k >= 0; k--) {
    out[k] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
    exponent >>= 1n;
  }
  return result;
}

/** Our public key Y = 2^X mod P for a private key X (big-endian bytes). */
export function msePublicKey(privateKey: Uint8Array): Uint8Array {
  return bigIntToBytes(modPow(MSE_GENERATOR, bytesToBigInt(privateKey), MSE_PRIME), MSE_KEY_BYTES);
}

/**
 * The shared secret S = Y_peer^X mod P. A peer key of 0, 1 or P-1 and above would make S
 * guessable (or is no group element), so it is refused.
 */
export function mseSharedSecret(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  const y = bytesToBigInt(peerPublicKey);
  if (y <= 1n || y >= MSE_PRIME - 1n) throw new WireError("MSE_BAD_KEY", "peer's encryption public key is outside the group (0, 1 or >= P-1)");
  return bigIntToBytes(modPow(y, bytesToBigInt(privateKey), MSE_PRIME), MSE_KEY_BYTES);
}

/** SHA-1 over the concatenated parts: the HASH() of the MSE specification. */
export function mseHash(...parts: (string | Uint8Array)[]): Uint8Array {
  const h = createHash("sha1");
  for (const p of parts) h.update(typeof p === "string" ? Buffer.from(p, "latin1") : p);
  return new Uint8Array(h.digest());
}
