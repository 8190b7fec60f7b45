import { ConfigError } from "@shoal/service-kit";

/** The submit form as the page posts it. */
export interface SubmitForm {
  /** An uploaded .torrent: its file name and bytes in base64. */
  readonly torrent: { readonly name: string; readonly base64: string } | undefined;
  /** Or an http(s) URL of one, fetched by the cluster. */
  readonly url: string | undefined;
  /** The option values, named as `SubmitRequest` names them; an empty field is not given. */
  readonly options: {
    readonly to: string | undefined;
    readonly select: string | undefined;
    readonly maxDownloadRate: string | undefined;
    readonly maxUploadRate: string | undefined;
    readonly seedRatio: string | undefined;
    readonly seedTime: string | undefined;
  };
}

const TEXT_FIELDS = ["to", "select", "maxDownloadRate", "maxUploadRate", "seedRatio", "seedTime"] as const;
/** Longer than any file list or URL a person types; a field past it is a mistake. */
const MAX_FIELD_CHARS = 8_192;

/**
 * Reads a posted form: exactly one of `torrent` and `url`, the other fields strings. Shape
 * problems are one-line ConfigErrors (`problem: "option"`) like the option checks that follow.
 */
export function readSubmitForm(body: unknown): SubmitForm {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("the form must be a JSON object");
  const b = body as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const v = b[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw bad(`${key} must be text`);
    if (v.length > MAX_FIELD_CHARS) throw bad(`${key} is longer than ${MAX_FIELD_CHARS} characters`);
    return v.trim() === "" ? undefined : v.trim();
  };
  let torrent: SubmitForm["torrent"];
  if (b["torrent"] !== undefined && b["torrent"] !== null) {
    const t = b["torrent"] as Record<string, unknown>;
    if (typeof t !== "object" || typeof t["name"] !== "string" || typeof t["base64"] !== "string") throw bad("torrent must be { name, base64 }");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t["base64"])) throw bad(`${t["name"]}: the file's bytes are not base64`);
    if (t["base64"] === "") throw bad(`${t["name"]}: the file is empty`);
    torrent = { name: t["name"], base64: t["base64"] };
  }
  const url = text("url");
  if (torrent && url) throw bad("give a .torrent file or a URL, not both");
  if (!torrent && !url) throw bad("choose a .torrent file or give an http(s) URL of one");
  const options = Object.fromEntries(TEXT_FIELDS.map((k) => [k, text(k)])) as SubmitForm["options"];
  return { torrent, url, options };
}

function bad(message: string): ConfigError {
  return new ConfigError("INVALID_CONFIG", message, { context: { problem: "option" } });
}
