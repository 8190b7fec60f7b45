import { ConfigError } from "@shoal/service-kit";

/** How to reach the S3 server: endpoint and credentials, shared by every bucket a process writes to. */
export interface S3Connection {
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
}

/**
 * The S3 connection from a `--s3` flag value and the environment, under the names every S3 tool
 * reads: the endpoint from the flag, else `SHOAL_S3_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`, else
 * `AWS_ENDPOINT_URL`; credentials from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; the region
 * from `AWS_REGION` (else `AWS_DEFAULT_REGION`, else us-east-1). Returns undefined when no
 * endpoint is set at all (`required` false) and throws a ConfigError naming the missing or bad
 * key otherwise.
 */
export function s3ConnectionFrom(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  required: boolean,
): S3Connection | undefined {
  const pick = (...names: string[]): [string, string] | undefined => {
    for (const n of names) {
      const v = env[n]?.trim();
      if (v) return [n, v];
    }
    return undefined;
  };
  const endpointFrom: [string, string] | undefined = flag?.trim() ? ["--s3", flag.trim()] : pick("SHOAL_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
  if (!endpointFrom) {
    if (!required) return undefined;
    throw new ConfigError("INVALID_CONFIG", "S3 endpoint missing: set --s3 URL or SHOAL_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)");
  }
  const [where, raw] = endpointFrom;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" is not a URL (expected http(s)://host[:port])`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" must be http:// or https://`);
  }
  if (url.pathname !== "/" || url.search) {
    throw new ConfigError("INVALID_CONFIG", `${where}: "${raw}" must have no path or query (path-style requests are used: http(s)://host[:port])`);
  }
  const accessKey = pick("AWS_ACCESS_KEY_ID")?.[1];
  if (!accessKey) throw new ConfigError("INVALID_CONFIG", "AWS_ACCESS_KEY_ID is not set: the S3 access key is needed");
  const secretKey = pick("AWS_SECRET_ACCESS_KEY")?.[1];
  if (!secretKey) throw new ConfigError("INVALID_CONFIG", "AWS_SECRET_ACCESS_KEY is not set: the S3 secret key is needed");
  const region = pick("AWS_REGION", "AWS_DEFAULT_REGION")?.[1] ?? "us-east-1";
  return { endpoint: `${url.protocol}//${url.host}`, accessKey, secretKey, region };
}
