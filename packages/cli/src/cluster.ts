import { parseArgs } from "node:util";
import type { ServiceName } from "@shoal/runtime";
import { describeStartFailure } from "@shoal/runtime/commands";
import { ConfigError } from "@shoal/service-kit";
import { CliError, UsageFailure } from "./cli-error.js";
import { CLUSTER_USAGE, type CLUSTER_COMMANDS } from "./cluster-usage.js";

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

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
    // Each command's modules are loaded when it runs: a command starts without the others'.
    switch (command) {
      case "service":
        return await service(positionals, str, env, values["no-dht"] === true);
      case "submit":
        return await (await import("./job-commands.js")).submitCommand(positionals, values, str, env);
      case "status":
        return await (await import("./job-commands.js")).statusCommand(positionals, values["json"] === true, str, env);
      case "cancel":
        return await (await import("./job-commands.js")).cancelCommand(positionals, str, env);
      case "dashboard":
        if (positionals[0] !== undefined) throw new UsageFailure(`unexpected argument "${positionals[0]}"`);
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
  // The runtime's main entry: the four services and their backends, which only this command runs.
  const { SERVICE_NAMES, startServiceProcess } = await import("@shoal/runtime");
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
