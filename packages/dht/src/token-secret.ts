import { createHash } from "node:crypto";

/**
 * announce_peer tokens (BEP 5): a hash of the asker's IP and a secret that changes every
 * `rotateMs`; a token made with the current or the previous secret is accepted, so a token is
 * good for between one and two rotation periods (5 to 10 minutes by default, as BEP 5 says).
 * Nothing is stored per asker.
 */
export class TokenSecret {
  private current: Uint8Array;
  private previous: Uint8Array;
  private rotatedAt: number;

  constructor(
    private readonly random: (n: number) => Uint8Array,
    private readonly now: () => number,
    private readonly rotateMs = 5 * 60_000,
  ) {
    this.current = random(16);
    this.previous = random(16);
    this.rotatedAt = now();
  }

  private rotateIfDue(): void {
    const t = this.now();
    if (t - this.rotatedAt < this.rotateMs) return;
    // More than two periods idle: both secrets are stale.
    this.previous = t - this.rotatedAt >= 2 * this.rotateMs ? this.random(16) : this.current;
    this.current = this.random(16);
    this.rotatedAt = t;
  }

  /** The token for an asker at `ip`. */
  tokenFor(ip: string): Uint8Array {
    this.rotateIfDue();
    return tokenOf(this.current, ip);
  }

  /** True when `token` was handed to `ip` within the validity window. */
  valid(ip: string, token: Uint8Array): boolean {
    this.rotateIfDue();
    return sameBytes(token, tokenOf(this.current, ip)) || sameBytes(token, tokenOf(this.previous, ip));
  }
}

/** 8 bytes of SHA-1: unguessable without the secret, and short on the wire. */
function tokenOf(secret: Uint8Array, ip: string): Uint8Array {
  return createHash("sha1").update(secret).update(ip).digest().subarray(0, 8);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
