/**
 * One decoder under fuzz. A target turns an input into a decoder call (or a few calls over the
 * same bytes) and classifies what happened:
 *
 * - the decoder returned a value, or threw the error its package documents for bad input: `run`
 *   returns a short outcome label ("ok:dict", "error:UNSORTED_KEY");
 * - anything else is a finding: another exception escapes `run` (a TypeError, a RangeError from
 *   a stack overflow, a plain Error), or `run` throws InvariantViolation because a returned value
 *   breaks what the package promises about it.
 *
 * Hangs and memory blow-ups are caught outside the target by the worker and its watchdog.
 */
export interface FuzzTarget {
  readonly name: string;
  /** What is decoded and which calls each input drives, for `--list` and the documentation. */
  readonly description: string;
  /** Samples built in code (encoder output, hand-made edge cases), mutated alongside the corpus files. */
  seeds(): Uint8Array[];
  /** `count` fresh structured inputs from fast-check arbitraries; the same seed gives the same inputs. */
  generate(seed: number, count: number): Uint8Array[];
  /** Tokens the mutators insert whole: keys and markers a random byte would rarely spell. */
  readonly dictionary: readonly Uint8Array[];
  /** Largest input the mutators build; real samples of the format are far smaller. */
  readonly maxInputBytes: number;
  /** Inputs are bencode documents, so half the mutations change the decoded tree (tree-mutate.ts). */
  readonly bencode?: boolean;
  /** Decodes one input; see the interface comment for what it returns and throws. */
  run(input: Uint8Array): string;
}

/** A decoded value broke a documented property of the decoder (a round trip, a bound, a count). */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new InvariantViolation(what);
}

export const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Runs one decoder call and labels its outcome. `documented` says whether a thrown value is the
 * package's documented refusal (and returns its code); anything else is rethrown as a finding.
 */
export function outcome(call: () => string, documented: (err: unknown) => string | undefined): string {
  try {
    return `ok:${call()}`;
  } catch (err) {
    if (err instanceof InvariantViolation) throw err;
    const code = documented(err);
    if (code === undefined) throw err;
    return `error:${code}`;
  }
}
