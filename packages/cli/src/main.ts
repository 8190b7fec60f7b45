import { isShoalError } from "@shoal/errors";
import type { GetArgs } from "./args.js";
import { CliError } from "./cli-error.js";
import { CLUSTER_COMMANDS, CLUSTER_USAGE } from "./cluster-usage.js";
import { formatBytes, ProgressReporter, type ProgressMode } from "./progress.js";

/** Exit statuses: 0 complete and verified, 1 failed, 2 bad input, 130/143 interrupted. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Errors about the content of a .torrent: bad input, exit status 2. */
const TORRENT_ERRORS = ["DecodeError", "MetainfoError"];
/**
 * Bad settings: a destination that is not a directory or s3:// URL, a missing or unusable S3
 * endpoint, bucket or credentials, a bad SHOAL_* variable. Bad input too, exit status 2.
 */
const CONFIG_ERRORS = ["ConfigError"];

/**
 * Each command's modules are loaded once the command line names it: embedded mode, the services
 * and the job queue take most of a second to load, which no other command should wait for (and
 * `shoal submit` is on the path of every cluster job). The cluster commands parse their own
 * options, without those of get, info and verify.
 */
async function main(argv: readonly string[]): Promise<number> {
  if ((CLUSTER_COMMANDS as readonly string[]).includes(argv[0] ?? "")) return (await import("./cluster.js")).clusterMain(argv, process.env);
  const { parseCommandLine, UsageError, USAGE } = await import("./args.js");
  let args;
  try {
    args = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`shoal: ${err.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (args.command === "help") {
    process.stdout.write(`${USAGE}\n${CLUSTER_USAGE}`);
    return 0;
  }
  if (args.command === "version") {
    process.stdout.write("shoal 0.1.0\n");
    return 0;
  }
  if (args.command === "info") {
    try {
      await (await import("./info.js")).info(args, process.stdout);
      return 0;
    } catch (err) {
      return fail(err, new ProgressReporter("quiet", process.stderr), args.source);
    }
  }
  if (args.command === "verify") {
    try {
      return await (await import("./verify.js")).verify(args, process.stdout, process.stderr, process.env);
    } catch (err) {
      return fail(err, new ProgressReporter("quiet", process.stderr), args.source);
    }
  }
  return get(args);
}

async function get(args: GetArgs): Promise<number> {
  const mode: ProgressMode = args.json ? "json" : args.quiet ? "quiet" : process.stderr.isTTY ? "tty" : "plain";
  const reporter = new ProgressReporter(mode, mode === "json" ? process.stdout : process.stderr);
  let run;
  let seeding = false;
  try {
    const { startEmbedded } = await import("./embedded.js");
    run = await startEmbedded(
      args,
      {
        onProgress: (p) => reporter.progress(p),
        onEvent: (type, fields) => {
          reporter.event(type, fields);
          if (type === "warning" && mode !== "quiet") reporter.message(`warning: ${String(fields["message"])}`);
          if (type === "metadata" && mode !== "quiet") {
            reporter.message(`${String(fields["name"])}: ${formatBytes(Number(fields["totalBytes"]))} in ${String(fields["files"])} file(s), ${String(fields["pieces"])} pieces`);
          }
          if (type === "seeding") {
            seeding = true;
            const limits = [
              fields["ratio"] !== undefined ? `ratio ${String(fields["ratio"])}` : undefined,
              fields["seconds"] !== undefined ? `${String(fields["seconds"])} s` : undefined,
            ].filter(Boolean);
            if (mode !== "quiet") reporter.message(`download complete and verified in ${args.out}; seeding until ${limits.join(" or ")} (Ctrl-C stops, exit status 0)`);
          }
          if (type === "resumed" && mode !== "quiet" && Number(fields["pieces"]) > 0) {
            reporter.message(`resuming: ${String(fields["pieces"])} pieces already present and verified`);
          }
        },
      },
      process.env,
    );
  } catch (err) {
    return fail(err, reporter, args.source);
  }

  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) process.exit(128 + (sig === "SIGINT" ? 2 : 15)); // a second Ctrl-C leaves at once
    signalled = sig;
    reporter.message(
      seeding
        ? "stopping seeding: announcing to trackers (Ctrl-C again to quit now)"
        : "stopping: announcing to trackers and keeping verified pieces (Ctrl-C again to quit now)",
    );
    void run.cancel();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // With --json, what the DHT did (a private torrent shows no lookups), just before the last event.
  const dhtEvent = () => {
    const dht = run.dhtStats();
    if (dht) reporter.event("dht", dht);
  };
  let code: number;
  try {
    const result = await run.result;
    dhtEvent();
    reporter.event("completed", { ...result });
    reporter.message(
      `done: ${result.name} (${formatBytes(result.totalBytes)}, ${result.files.length} file(s)) verified in ${args.out}` +
        (result.uploadedBytes > 0 ? `; uploaded ${formatBytes(result.uploadedBytes)}` : ""),
    );
    code = 0;
  } catch (err) {
    dhtEvent();
    code = signalled ? 128 + (signalled === "SIGINT" ? 2 : 15) : fail(err, reporter, args.source);
    if (signalled) reporter.event("stopped", { reason: signalled });
  }
  await run.shutdown();
  return code;
}

function fail(err: unknown, reporter: ProgressReporter, source?: string): number {
  const message = err instanceof Error ? err.message : String(err);
  reporter.event("failed", { error: isShoalError(err) ? err.toJSON() : { message } });
  // Problems inside the .torrent name the file they are in.
  const where = isShoalError(err) && TORRENT_ERRORS.includes(err.name) && source ? `${source}: ` : "";
  process.stderr.write(`shoal: ${where}${message}\n`);
  if (err instanceof CliError) return err.exitCode;
  if (isShoalError(err) && (TORRENT_ERRORS.includes(err.name) || CONFIG_ERRORS.includes(err.name))) return EXIT_USAGE;
  if (isShoalError(err) && (err.code === "NO_TRACKERS" || err.code === "BAD_SELECTION")) return EXIT_USAGE;
  return EXIT_FAILED;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Sockets and timers of the services are closed; exit now rather than wait for stragglers.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`shoal: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT_FAILED);
  },
);
