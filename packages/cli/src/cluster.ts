import { parseArgs } from "node:util";
import { describeStartFailure, SERVICE_NAMES, startServiceProcess, type ServiceName } from "@shoal/runtime";
import { ConfigError } from "@shoal/service-kit";
import { CliError, UsageFailure } from "./cli-error.js";
import { cancelCommand, statusCommand, submitCommand } from "./job-commands.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export const CLUSTER_COMMANDS = ["service", "submit", "status", "cancel", "dashboard"] as const;

export const CLUSTER_USAGE = `cluster commands:
  shoal service tracker-poller|peer-worker|piece-verifier|storage-writer [options]
      Runs one service in the foreground until SIGTERM (drains, exit 0) or SIGINT.
  shoal submit <file.torrent | http(s) URL> --to s3://BUCKET/PREFIX [--wait] [--json]
      Queues a download into the bucket and prints the job id; --wait follows it like get
      (exit 0 once every file is in the bucket and verified, 1 on failure, 2 on bad input).
  shoal status [JOB] [--json]
      Jobs with their state, progress, rate and ETA; one job with its pieces by state and
      workers.
  shoal cancel JOB
      Stops the job everywhere and aborts its unfinished uploads; finished objects stay.
  shoal dashboard [--port N] [--host ADDR]
      Serves a live web page of the cluster (its URL is printed): jobs with state, progress,
      rate and ETA, each running job's piece map coloured by state and by the worker holding
      each claim, the workers' rates and peers, a form that submits as "shoal submit" does and
      a cancel button per running job. Runs until SIGTERM or Ctrl-C.

options of the cluster commands (each flag falls back to its environment variable):
      --redis URL             redis://host:port (SHOAL_REDIS_URL)
      --nats URL              nats://host:port, the server with JetStream (SHOAL_NATS_URL)
      --s3 URL                S3 endpoint, path-style (SHOAL_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3,
                              else AWS_ENDPOINT_URL); credentials from AWS_ACCESS_KEY_ID,
                              AWS_SECRET_ACCESS_KEY and AWS_REGION (default us-east-1)
      --metrics-port N        service: /metrics and /healthz on this port (SHOAL_METRICS_PORT;
                              default 9464, 0 = a free port)
  -p, --port N                peer-worker: port for incoming peers (SHOAL_PEER_WORKER_PORT;
                              a busy port falls back to a free one); dashboard: port of the
                              page (SHOAL_DASHBOARD_PORT; default 8080, 0 = a free port)
      --host ADDR             dashboard: address to listen on (SHOAL_DASHBOARD_HOST; default
                              127.0.0.1: the page can submit and cancel jobs and has no login)
      --encryption POLICY     peer-worker, tracker-poller: prefer, require or disable protocol
                              encryption (MSE/PE) with peers, for pieces and for a magnet
                              link's metadata (SHOAL_ENCRYPTION; default prefer)
      --select LIST           submit: download only these files (as for get)
      --seed-ratio X, --seed-time SECONDS   submit: seed after completion (as for get)
      --max-download-rate R, --max-upload-rate R   submit: rate limits of the whole job, shared
                              equally by the peer-workers on it (500K, 4M, 1G; 0 = unlimited)
      --web-seed URL          submit: also fetch from this HTTP mirror (repeatable; as for get)
      --no-web-seeds          submit: do not use the torrent's own web seeds (url-list)
      --no-dht                submit: this job finds peers without the DHT; tracker-poller:
                              no DHT node at all (SHOAL_DHT=off)
      --dht-bootstrap LIST    tracker-poller: join the DHT through host:port[,host:port...]
                              instead of the public routers (SHOAL_DHT_BOOTSTRAP)
      --dht-port N            tracker-poller: UDP port of the DHT node (SHOAL_DHT_PORT;
                              default 6881, a busy port falls back to a free one; 0 = any)
      --job-id ID             submit: name the job (a second submit with the same id is the same job)
      --log-level L           service, dashboard: log level (debug, info, warn; default info)
`;

type Env = Readonly<Record<string, string | undefined>>;

/** Runs a cluster command; resolves with the exit status. */
export async function clusterMain(argv: readonly string[], env: Env): Promise<number> {
  const command = argv[0] as (typeof CLUSTER_COMMANDS)[number];
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.slice(1),
      allowPositionals: true,
      options: {
        redis: { type: "string" },
        nats: { type: "string" },
        s3: { type: "string" },
        "metrics-port": { type: "string" },
        port: { type: "string", short: "p" },
        encryption: { type: "string" },
        "log-level": { type: "string" },
        host: { type: "string" },
        to: { type: "string" },
        wait: { type: "boolean" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        select: { type: "string" },
        "seed-ratio": { type: "string" },
        "seed-time": { type: "string" },
        "max-download-rate": { type: "string" },
        "max-upload-rate": { type: "string" },
        "job-id": { type: "string" },
        "web-seed": { type: "string", multiple: true },
        "no-web-seeds": { type: "boolean" },
        "dht-bootstrap": { type: "string" },
        "dht-port": { type: "string" },
        "no-dht": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    return usage(command, (err as Error).message);
  }
  if (values["help"] === true) {
    process.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  try {
    switch (command) {
      case "service":
        return await service(positionals, str, env, values["no-dht"] === true);
      case "submit":
        return await submitCommand(positionals, values, str, env);
      case "status":
        return await statusCommand(positionals, values["json"] === true, str, env);
      case "cancel":
        return await cancelCommand(positionals, str, env);
      case "dashboard":
        if (positionals[0] !== undefined) throw new UsageFailure(`unexpected argument "${positionals[0]}"`);
        // Loaded only for this command: the other commands start without the dashboard's modules.
        return await (await import("./dashboard-command.js")).dashboardCommand(
          { redis: str("redis"), nats: str("nats"), s3: str("s3"), port: str("port"), host: str("host"), logLevel: str("log-level") },
          env,
        );
    }
  } catch (err) {
    if (err instanceof UsageFailure) return usage(command, err.message);
    if (err instanceof CliError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`shoal: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`shoal: ${describeStartFailure(err)}\n`);
    return EXIT_FAILED;
  }
  return usage(command, `unknown command "${String(command)}"`);
}

/**
 * A usage error is one line that points at the help: these commands run under supervisors and
 * in scripts, whose logs should show the mistake, not thirty lines of options around it.
 */
function usage(command: string, message: string): number {
  process.stderr.write(`shoal: ${message} (shoal ${command} --help lists the options)\n`);
  return EXIT_USAGE;
}

async function service(positionals: string[], str: (k: string) => string | undefined, env: Env, noDht: boolean): Promise<number> {
  const [name, extra] = positionals;
  if (!name) throw new UsageFailure(`service needs a name: ${SERVICE_NAMES.join(", ")}`);
  if (!SERVICE_NAMES.includes(name as ServiceName)) throw new UsageFailure(`unknown service "${name}": one of ${SERVICE_NAMES.join(", ")}`);
  if (extra !== undefined) throw new UsageFailure(`unexpected argument "${extra}"`);
  const flags = {
    ...(str("redis") !== undefined ? { redis: str("redis") } : {}),
    ...(str("nats") !== undefined ? { nats: str("nats") } : {}),
    ...(str("s3") !== undefined ? { s3: str("s3") } : {}),
    ...(str("metrics-port") !== undefined ? { metricsPort: str("metrics-port") } : {}),
    ...(str("port") !== undefined ? { port: str("port") } : {}),
    ...(str("encryption") !== undefined ? { encryption: str("encryption") } : {}),
    ...(str("log-level") !== undefined ? { logLevel: str("log-level") } : {}),
    ...(str("dht-bootstrap") !== undefined ? { dhtBootstrap: str("dht-bootstrap") } : {}),
    ...(str("dht-port") !== undefined ? { dhtPort: str("dht-port") } : {}),
    ...(noDht ? { noDht } : {}),
  };
  if ((flags.dhtBootstrap !== undefined || flags.dhtPort !== undefined || noDht) && name !== "tracker-poller") {
    throw new UsageFailure("--dht-bootstrap, --dht-port and --no-dht are options of the tracker-poller service");
  }
  if (flags.port !== undefined && name !== "peer-worker") throw new UsageFailure("--port is an option of the peer-worker service");
  if (str("host") !== undefined) throw new UsageFailure("--host is an option of shoal dashboard");
  if (flags.encryption !== undefined && name !== "peer-worker" && name !== "tracker-poller") {
    throw new UsageFailure("--encryption is an option of the peer-worker and tracker-poller services");
  }
  // Signals are heard from the start: one that comes while the process still connects or waits
  // as a standby finds nothing to drain, and ends it at once with status 0.
  let signalled: ((sig: NodeJS.Signals) => void) | undefined;
  let early: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => (signalled ? signalled(sig) : ((early = sig), process.exit(0)));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  const running = await startServiceProcess(name as ServiceName, flags, env);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    if (early) resolve(early);
    signalled = resolve;
  });
  // A second signal while draining leaves at once.
  const hard = () => process.exit(128 + (signal === "SIGINT" ? 2 : 15));
  process.once("SIGTERM", hard);
  process.once("SIGINT", hard);
  await running.stop();
  return 0;
}
