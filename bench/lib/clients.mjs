// The downloaders the benchmark compares. Each recipe turns (torrent, out dir, port) into a
// command that puts the data at out/<torrent name>, exits 0 once it is complete, and waits for
// everything it started, so /usr/bin/time counts all of its CPU time.
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * aria2 keeps this many connections in a swarm by default; named explicitly so a change of
 * aria2's default does not silently change the benchmark.
 */
const ARIA2_MAX_PEERS = 55;

export function clientRecipes(repoRoot) {
  const leechScript = join(repoRoot, "packages", "testkit", "py", "leech.py");
  const shoalBin = join(repoRoot, "packages", "cli", "bin", "shoal.js");
  return {
    shoal: {
      // The program behind bin/shoal.js; without it the CLI only prints a build hint.
      requires: [join(repoRoot, "packages", "cli", "dist", "main.js")],
      hint: "build the repo first: npx tsc -b",
      command: ({ torrent, out }) => ({
        command: process.execPath,
        args: [shoalBin, "get", torrent, "--out", out, "--port", "0", "--quiet"],
      }),
    },
    // The same shoal; the benchmark starts its seeds with encryption forced (RC4 only).
    "shoal-rc4": {
      requires: [join(repoRoot, "packages", "cli", "dist", "main.js")],
      hint: "build the repo first: npx tsc -b",
      command: ({ torrent, out }) => ({
        command: process.execPath,
        args: [shoalBin, "get", torrent, "--out", out, "--port", "0", "--quiet"],
      }),
    },
    libtorrent: {
      // libtorrent's default settings, with DHT, LSD, UPnP, NAT-PMP and uTP off and several
      // connections per IP allowed (every seed is 127.0.0.1); exits 0 once every piece passed
      // its hash check. It prints a JSON report, kept in the run's log.
      requires: [leechScript, "/usr/bin/python3"],
      hint: "apt-get install python3-libtorrent (and build the testkit: npx tsc -b packages/testkit)",
      command: ({ torrent, out, port, timeoutMs }) => ({
        command: "/usr/bin/python3",
        args: [
          leechScript,
          "--torrent", torrent,
          "--out", out,
          "--ip", "127.0.0.1",
          "--port", String(port),
          // The harness enforces its own deadline; the leecher's must not end the run earlier.
          "--timeout", String(Math.ceil(timeoutMs / 1000) + 60),
        ],
      }),
    },
    aria2: {
      requires: ["/usr/bin/aria2c"],
      hint: "apt-get install aria2",
      command: ({ torrent, out, port, udpPort, tracker, runDir }) => ({
        command: "/usr/bin/aria2c",
        args: [
          `--dir=${out}`,
          `--listen-port=${port}`,
          "--interface=127.0.0.1",
          "--disable-ipv6=true",
          // Stop as soon as the data is complete and verified instead of seeding on.
          "--seed-time=0",
          // aria2 speaks UDP tracker only through its DHT socket. With an empty routing table of
          // its own and no entry point, DHT has nobody to contact, so only the tracker is asked.
          ...(tracker === "udp"
            ? ["--enable-dht=true", `--dht-listen-port=${udpPort}`, `--dht-file-path=${join(runDir, "aria2-dht.dat")}`]
            : ["--enable-dht=false"]),
          "--enable-dht6=false",
          "--bt-enable-lpd=false",
          "--enable-peer-exchange=false",
          `--bt-max-peers=${ARIA2_MAX_PEERS}`,
          // The default ("prealloc") writes every byte twice: zeros first, then the data.
          "--file-allocation=falloc",
          "--bt-save-metadata=false",
          "--summary-interval=0",
          "--console-log-level=warn",
          "--download-result=full",
          torrent,
        ],
      }),
    },
  };
}

/** Names every missing prerequisite of the chosen clients, with how to get it. */
export function missingPrerequisites(recipes, clients) {
  const problems = [];
  for (const name of clients) {
    const missing = recipes[name].requires.filter((p) => !existsSync(p));
    if (missing.length > 0) problems.push(`${name}: missing ${missing.join(", ")} (${recipes[name].hint})`);
  }
  return problems;
}
