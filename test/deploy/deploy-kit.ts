import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { runProcess } from "@shoal/testkit";
import { parse, parseAllDocuments } from "yaml";

/** The repository root (this file is test/deploy/deploy-kit.ts). */
export const ROOT = resolve(import.meta.dirname, "../..");

/** The four services of a cluster, as `shoal service` names them. */
export const SHOAL_SERVICES = ["tracker-poller", "peer-worker", "piece-verifier", "storage-writer"] as const;

/**
 * Peak RSS of each service while a 1 GiB torrent lands in S3, in MiB: the highest figure of the
 * runs in BENCHMARKS.md, "Cluster into S3 vs download-then-upload" (after the fixes). Memory
 * requests must cover them.
 */
export const MEASURED_PEAK_RSS_MIB: Readonly<Record<(typeof SHOAL_SERVICES)[number], number>> = {
  "tracker-poller": 141,
  "piece-verifier": 222,
  "storage-writer": 287,
  "peer-worker": 340,
};

/** The path of an executable on PATH, or a failure that says how to get it. */
export function requireTool(name: string, debianPackage: string): string {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not installed: bash scripts/test-deps.sh installs it (Debian package ${debianPackage})`);
}

/** Runs a command at the repository root and returns its stdout; any failure throws with stderr. */
export async function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const result = await runProcess(command, args, { cwd: ROOT, env, timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.exitCode}: ${result.stderr}`);
  return result.stdout;
}

/**
 * The environment a user without settings of their own has: the compose file's defaults apply.
 * Variables the compose file reads are removed so the developer's shell cannot change the result.
 */
export function composeEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env["PATH"], HOME: process.env["HOME"] };
}

export interface ComposeService {
  image?: string;
  build?: { context: string } | string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean; start_period?: string };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  ports?: (string | { target: number; published?: number | string; protocol?: string })[];
  expose?: string[];
  volumes?: string[];
  container_name?: string;
  profiles?: string[];
}

export interface ComposeConfig {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The compose file as docker-compose resolves it (anchors, merges and defaults applied). */
export async function composeConfig(): Promise<ComposeConfig> {
  const compose = requireTool("docker-compose", "docker-compose");
  return parse(await run(compose, ["-f", join(ROOT, "docker-compose.yml"), "config"], composeEnv())) as ComposeConfig;
}

/** One rendered Kubernetes object, loosely typed: tests read what they check. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** `kubectl kustomize DIR`, parsed into its objects. */
export async function kustomize(dir: string): Promise<K8sObject[]> {
  const kubectl = requireTool("kubectl", "kubernetes-client");
  const text = await run(kubectl, ["kustomize", join(ROOT, dir)]);
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function readRepoFile(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}
