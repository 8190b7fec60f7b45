import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { TestkitError } from "./testkit-error.js";

/**
 * The interpreter that has Debian's python3-libtorrent. A python3 found first on PATH (pyenv,
 * a virtualenv) usually lacks the module, so the system one is named explicitly.
 */
export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Debian package that provides each program, for the install hint in errors. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  opentracker: "opentracker",
  mktorrent: "mktorrent",
  aria2c: "aria2",
  "transmission-daemon": "transmission-daemon",
  "qbittorrent-nox": "qbittorrent-nox",
  "redis-server": "redis-server",
  "nats-server": "nats-server",
  memcached: "memcached",
  "swift-proxy-server": "swift-proxy",
  "swift-account-server": "swift-account",
  "swift-container-server": "swift-container",
  "swift-object-server": "swift-object",
  [SYSTEM_PYTHON]: "python3",
  ip: "iproute2",
  tc: "iproute2",
  socat: "socat",
};

/** Where Debian puts a program off the usual PATH of a non-root user. */
const LOCATION_NOTE: Readonly<Record<string, string>> = {
  "nats-server": "Debian installs it as /usr/sbin/nats-server, so /usr/sbin must be on PATH",
};

/** Absolute path of an executable, searched on PATH; throws MISSING_BINARY with an install hint. */
export function requireExecutable(name: string): string {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env["PATH"] ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory; try the next one.
    }
  }
  const pkg = PACKAGE_OF[name];
  const note = LOCATION_NOTE[name] === undefined ? "" : `; ${LOCATION_NOTE[name]}`;
  const hint = pkg === undefined ? "" : ` (apt-get install --no-install-recommends ${pkg}${note})`;
  throw new TestkitError("MISSING_BINARY", `${name} is not installed or not on PATH${hint}`, {
    context: { binary: name },
  });
}

let libtorrentChecked: Promise<void> | undefined;

/** Resolves once `/usr/bin/python3 -c "import libtorrent"` works; checked once per process. */
export function requirePythonLibtorrent(): Promise<void> {
  libtorrentChecked ??= new Promise<void>((resolve, reject) => {
    requireExecutable(SYSTEM_PYTHON);
    execFile(SYSTEM_PYTHON, ["-c", "import libtorrent"], { timeout: 20_000 }, (err, _out, stderr) => {
      if (err === null) return resolve();
      reject(
        new TestkitError(
          "MISSING_BINARY",
          `${SYSTEM_PYTHON} cannot import libtorrent (apt-get install --no-install-recommends python3-libtorrent): ${stderr.trim()}`,
          { context: { binary: "python3-libtorrent" } },
        ),
      );
    });
  });
  return libtorrentChecked;
}
