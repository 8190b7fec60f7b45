import { resolve } from "node:path";
import { ConfigError } from "@shoal/service-kit";

/** Where a job's files land: a directory on this machine, or a bucket and key prefix. */
export type Destination =
  | { readonly kind: "dir"; readonly path: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

/** S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit. */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads `s3://BUCKET/PREFIX` (the prefix may be empty or nested; slashes at either end are
 * dropped and runs of slashes inside become one) or a directory path (made absolute against
 * `cwd`). Any other URL scheme is refused with a one-line error naming it.
 */
export function parseDestination(raw: string, cwd: string = process.cwd()): Destination {
  const text = raw.trim();
  if (text === "") throw new ConfigError("INVALID_CONFIG", "destination is empty: give a directory or s3://BUCKET/PREFIX");
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  if (!scheme) return { kind: "dir", path: resolve(cwd, text) };
  if (scheme[1]!.toLowerCase() !== "s3") {
    throw new ConfigError("INVALID_CONFIG", `destination ${text}: unsupported scheme "${scheme[1]}:" (use a directory or s3://BUCKET/PREFIX)`);
  }
  const rest = text.slice(scheme[0].length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  // Runs of slashes become one: `a//b` is a typo for `a/b`, and an empty key component would make
  // a tree that S3 consoles and `aws s3 ls` show as a folder named "".
  const prefix = slash < 0 ? "" : rest.slice(slash + 1).replace(/\/{2,}/g, "/").replace(/^\/+|\/+$/g, "");
  if (!BUCKET_RE.test(bucket) || bucket.includes("..")) {
    throw new ConfigError("INVALID_CONFIG", `destination ${text}: "${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, '.' or '-')`);
  }
  if (prefix.split("/").some((c) => c === "." || c === "..")) {
    throw new ConfigError("INVALID_CONFIG", `destination ${text}: the prefix may not contain "." or ".." components`);
  }
  return { kind: "s3", bucket, prefix };
}

/** The canonical text of a destination: what jobs and the catalog record. */
export function formatDestination(d: Destination): string {
  return d.kind === "dir" ? d.path : `s3://${d.bucket}${d.prefix ? `/${d.prefix}` : ""}`;
}
