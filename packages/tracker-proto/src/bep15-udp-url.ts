import { TrackerError } from "./tracker-error.js";

/** Where a UDP tracker lives, from its `udp://host:port/path?query` URL. */
export interface UdpTrackerAddress {
  /** A host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** Path and query, sent as BEP 41 URL data; empty when the URL has none. */
  readonly urlData: string;
}

const UDP_URL = /^udp:\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#[\]@]+):([0-9]{1,5})([/?][^#]*)?(#.*)?$/i;
const HOST_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*\.?$/;

/**
 * Parses a UDP tracker URL (BEP 15). The port is required (there is no default); the host must
 * be a plausible DNS name or an IP literal. Throws INVALID_URL or UNSUPPORTED_SCHEME.
 */
export function parseUdpTrackerUrl(url: string): UdpTrackerAddress {
  if (!/^udp:\/\//i.test(url)) {
    throw new TrackerError("UNSUPPORTED_SCHEME", `tracker URL "${url}" is not a udp: URL`, { context: { url } });
  }
  const match = UDP_URL.exec(url);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 0xffff) {
    throw new TrackerError("INVALID_URL", `UDP tracker URL "${url}" needs a host and a port 1..65535`, { context: { url } });
  }
  let host = match[1]!;
  if (host.startsWith("[")) host = host.slice(1, -1);
  else if (!HOST_NAME.test(host)) {
    throw new TrackerError("INVALID_URL", `UDP tracker URL "${url}" has an invalid host "${host}"`, { context: { url } });
  }
  return { host, port, urlData: match[3] ?? "" };
}
