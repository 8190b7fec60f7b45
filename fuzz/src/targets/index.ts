import type { FuzzTarget } from "../target.js";
import { SELF_CHECK_PREFIX, SELF_CHECK_TRIGGERS, type SelfCheckTrigger } from "./self-check.js";

/** Every decoder of outside input, in the order a full run visits them. */
export const TARGET_NAMES = [
  "bencode",
  "metainfo",
  "wire-messages",
  "wire-handshake",
  "wire-mse",
  "extension-handshake",
  "tracker-announce",
  "tracker-scrape",
  "tracker-udp",
  "dht-krpc",
] as const;

/** Loads one target; imported lazily so a worker loads only the packages its target decodes. */
export async function loadTarget(name: string): Promise<FuzzTarget> {
  switch (name) {
    case "bencode":
      return (await import("./bencode.js")).bencodeTarget;
    case "metainfo":
      return (await import("./metainfo.js")).metainfoTarget;
    case "wire-messages":
      return (await import("./wire-messages.js")).wireMessagesTarget;
    case "wire-handshake":
      return (await import("./wire-handshake.js")).wireHandshakeTarget;
    case "wire-mse":
      return (await import("./wire-mse.js")).wireMseTarget;
    case "extension-handshake":
      return (await import("./extension-handshake.js")).extensionHandshakeTarget;
    case "tracker-announce":
      return (await import("./tracker-http.js")).trackerAnnounceTarget;
    case "tracker-scrape":
      return (await import("./tracker-http.js")).trackerScrapeTarget;
    case "tracker-udp":
      return (await import("./tracker-udp.js")).trackerUdpTarget;
    case "dht-krpc":
      return (await import("./dht-krpc.js")).dhtKrpcTarget;
    default: {
      const trigger = name.slice(SELF_CHECK_PREFIX.length);
      if (name.startsWith(SELF_CHECK_PREFIX) && trigger in SELF_CHECK_TRIGGERS) {
        return (await import("./self-check.js")).selfCheckTarget(trigger as SelfCheckTrigger);
      }
      throw new Error(`unknown fuzz target ${name}`);
    }
  }
}
