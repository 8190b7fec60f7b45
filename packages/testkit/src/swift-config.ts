/** Where each Swift server of a one-node cluster listens and keeps its files. */
export interface SwiftLayout {
  /** swift_dir: the rings and these config files. */
  readonly etcDir: string;
  /** Parent of the device directory; the data itself lives in `<devicesDir>/<device>`. */
  readonly devicesDir: string;
  readonly device: string;
  /** The user every server runs as; it must own `devicesDir`. */
  readonly user: string;
  readonly ports: { readonly account: number; readonly container: number; readonly object: number; readonly proxy: number };
  readonly memcachePort: number;
  /** Where the proxy listens: loopback, or every address of a lab namespace. */
  readonly proxyBindIp: string;
}

/** The fixed test account of tempauth, used as S3 credentials (access key `test:tester`). */
export const SWIFT_S3_ACCESS_KEY_ID = "test:tester";
export const SWIFT_S3_SECRET_ACCESS_KEY = "testing";
export const SWIFT_S3_REGION = "us-east-1";

export type SwiftServerKind = "account" | "container" | "object" | "proxy";
export const SWIFT_SERVER_KINDS: readonly SwiftServerKind[] = ["account", "container", "object", "proxy"];

/**
 * Settings every server shares. `workers = 0` serves from the process that was started, with
 * no forked worker, so the pid the testkit holds is the one that listens and a SIGKILL of it is
 * a real crash. Swift always adds a syslog handler besides the console one (`-v`, which the log
 * file receives); pointing it at UDP port 9 (discard) on loopback keeps test traffic out of the
 * host's syslog or journal.
 */
function defaults(layout: SwiftLayout, port: number, bindIp = "127.0.0.1"): string[] {
  return [
    "[DEFAULT]",
    `bind_ip = ${bindIp}`,
    `bind_port = ${port}`,
    "workers = 0",
    `user = ${layout.user}`,
    `swift_dir = ${layout.etcDir}`,
    `devices = ${layout.devicesDir}`,
    // The device is a plain directory, not a mounted disk.
    "mount_check = false",
    "log_udp_host = 127.0.0.1",
    "log_udp_port = 9",
  ];
}

/** The config file of one server, as text. */
export function swiftServerConfig(kind: SwiftServerKind, layout: SwiftLayout): string {
  if (kind !== "proxy") {
    return [
      ...defaults(layout, layout.ports[kind]),
      "[pipeline:main]",
      `pipeline = ${kind}-server`,
      `[app:${kind}-server]`,
      `use = egg:swift#${kind}`,
      "",
    ].join("\n");
  }
  // s3api must come before tempauth, which checks the signature s3api extracted. tempauth
  // looks up every S3 request's groups in a cache and fails ("Memcache required") without one,
  // hence the memcache filter and a memcached of the cluster's own. copy, slo and dlo give
  // S3 copies and multipart uploads (an upload completes as a static large object).
  return [
    ...defaults(layout, layout.ports.proxy, layout.proxyBindIp),
    "[pipeline:main]",
    "pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server",
    "[app:proxy-server]",
    "use = egg:swift#proxy",
    // S3 clients never create Swift accounts; the first request for one creates it.
    "account_autocreate = true",
    "[filter:tempauth]",
    "use = egg:swift#tempauth",
    `user_${SWIFT_S3_ACCESS_KEY_ID.replace(":", "_")} = ${SWIFT_S3_SECRET_ACCESS_KEY} .admin`,
    "[filter:s3api]",
    "use = egg:swift#s3api",
    `location = ${SWIFT_S3_REGION}`,
    "[filter:catch_errors]",
    "use = egg:swift#catch_errors",
    "[filter:gatekeeper]",
    "use = egg:swift#gatekeeper",
    "[filter:healthcheck]",
    "use = egg:swift#healthcheck",
    "[filter:proxy-logging]",
    "use = egg:swift#proxy_logging",
    "[filter:cache]",
    "use = egg:swift#memcache",
    `memcache_servers = 127.0.0.1:${layout.memcachePort}`,
    "[filter:listing_formats]",
    "use = egg:swift#listing_formats",
    "[filter:bulk]",
    "use = egg:swift#bulk",
    "[filter:copy]",
    "use = egg:swift#copy",
    "[filter:slo]",
    "use = egg:swift#slo",
    "[filter:dlo]",
    "use = egg:swift#dlo",
    "",
  ].join("\n");
}
