/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A scrape, parsed: the declared families (`# TYPE`) and every sample. */
export interface Exposition {
  /** Family name -> type (`counter`, `gauge`, `histogram`, `summary`, `untyped`). */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * Parses the Prometheus text format (version 0.0.4) strictly enough to catch a broken
 * exposition: a line that is neither a comment nor a well-formed sample throws, naming it.
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (t) types.set(t[1]!, t[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1} of the exposition is not a sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`line ${i + 1} of the exposition has malformed labels: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") throw new Error(`line ${i + 1} of the exposition has a bad value: ${line}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { types, samples };
}

/** The samples of `name` whose labels include every one of `labels`. */
export function samplesOf(e: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the samples `samplesOf` picks; undefined when there is none. */
export function sumOf(e: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const got = samplesOf(e, name, labels);
  return got.length === 0 ? undefined : got.reduce((n, s) => n + s.value, 0);
}

/**
 * Every series name the exposition declares: each family, and for a histogram its `_bucket`,
 * `_sum` and `_count` (a summary's `_sum` and `_count`), whether or not it has samples yet.
 */
export function seriesNames(e: Exposition): Set<string> {
  const out = new Set<string>();
  for (const [name, type] of e.types) {
    out.add(name);
    if (type === "histogram") for (const s of ["_bucket", "_sum", "_count"]) out.add(name + s);
    if (type === "summary") for (const s of ["_sum", "_count"]) out.add(name + s);
  }
  return out;
}
