import { randomBytes } from "node:crypto";

/** A fresh lowercase-hex infoHash, so cases never share a torrent even on a shared backend. */
export function randomInfoHash(): string {
  return randomBytes(20).toString("hex");
}

/** A fresh identifier (worker, group, job) with a readable prefix. */
export function randomId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}
