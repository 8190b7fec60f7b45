import { networkInterfaces } from "node:os";

/**
 * Whether `ip:port` is one of this process's listen addresses: the port we listen on at an
 * address of one of our interfaces (or the unspecified address). Peers and trackers hand our
 * own address back to us; dialling it costs a connection that ends at the peer id check.
 * Interfaces are read at each call: they can change, and callers ask seldom (once per message).
 */
export function isOwnAddress(ip: string, port: number, listenPort: number): boolean {
  if (port !== listenPort) return false;
  if (ip === "0.0.0.0" || ip === "::") return true;
  const wanted = ip.toLowerCase().replace(/^::ffff:/, "");
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.address.toLowerCase() === wanted) return true;
  }
  return false;
}
