/**
 * The one error base of shoal. Every package has exactly one subclass (DecodeError,
 * TrackerError, StorageError, ...) with its own closed union of SCREAMING_SNAKE codes.
 *
 * Errors cross process boundaries (NATS payloads, BullMQ failure reasons), so each carries a
 * JSON-safe `context` and round-trips through `toJSON`/`fromJSON`. Callers branch on `code`
 * and `retryable`, never on `message` text.
 */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

export type ErrorContext = Readonly<Record<string, JsonValue>>;

export interface ShoalErrorJson {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly context: ErrorContext;
  readonly cause?: ShoalErrorJson | { readonly name: string; readonly message: string };
}

export interface ShoalErrorOptions {
  /** Extra facts about the failure; must be JSON-safe so it can cross NATS and BullMQ. */
  readonly context?: ErrorContext;
  /** Whether doing the same thing again may succeed (network blip versus bad input). */
  readonly retryable?: boolean;
  readonly cause?: unknown;
}

/**
 * Causes kept when an error is serialised or rebuilt. Real chains are two or three deep (an I/O
 * error wrapping an errno error); the cap keeps a cyclic chain in this process, or a hostile
 * chain from another one, from recursing until the stack overflows.
 */
export const MAX_CAUSE_DEPTH = 16;

/**
 * Deepest nesting accepted inside a rebuilt `context`. Contexts are flat facts (`op`, `path`,
 * `offset`); the bound turns hostile nesting into an error instead of a stack overflow.
 */
export const MAX_CONTEXT_DEPTH = 32;

/** The code `fromJSON` throws for input that is not the JSON of a ShoalError. */
export const INVALID_ERROR_JSON = "INVALID_ERROR_JSON";

export class ShoalError<C extends string = string> extends Error {
  static override readonly name: string = "ShoalError";
  readonly code: C;
  readonly context: ErrorContext;
  readonly retryable: boolean;

  constructor(code: C, message: string, options: ShoalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = (this.constructor as typeof ShoalError).name;
    this.code = code;
    this.context = options.context ?? {};
    this.retryable = options.retryable ?? false;
  }

  /**
   * The error as JSON. A cause that is a ShoalError keeps its code, context and flag; any other
   * Error keeps its name and message; other causes are dropped. The chain is cut after
   * MAX_CAUSE_DEPTH causes or where it loops back, so serialising never fails.
   */
  toJSON(): ShoalErrorJson {
    return serialise(this, new Set(), 0);
  }

  /**
   * Rebuilds an error that crossed a process boundary. The subclass identity is kept by `name`.
   * The input is treated as hostile: anything that is not the JSON `toJSON` produces (a wrong
   * type, a missing field, a cause chain deeper than MAX_CAUSE_DEPTH, a context nested deeper
   * than MAX_CONTEXT_DEPTH or holding non-JSON values) throws a ShoalError with code
   * INVALID_ERROR_JSON naming the field, never another exception. The rebuilt context is a copy
   * whose objects have no prototype, so keys such as `__proto__` stay plain data.
   */
  static fromJSON(json: unknown): ShoalError {
    return rebuild(json, "error", 0);
  }
}

function serialise(err: ShoalError, seen: Set<unknown>, depth: number): ShoalErrorJson {
  seen.add(err);
  const cause = err.cause;
  let causeJson: ShoalErrorJson["cause"];
  if (depth < MAX_CAUSE_DEPTH && !seen.has(cause)) {
    if (cause instanceof ShoalError) causeJson = serialise(cause, seen, depth + 1);
    else if (cause instanceof Error) causeJson = { name: cause.name, message: cause.message };
  }
  return {
    name: err.name,
    code: err.code,
    message: err.message,
    retryable: err.retryable,
    context: err.context,
    ...(causeJson ? { cause: causeJson } : {}),
  };
}

function invalid(field: string, problem: string): ShoalError {
  return new ShoalError(INVALID_ERROR_JSON, `error JSON: ${field} ${problem}`, { context: { field } });
}

/** Names a JSON type for messages; `null` and arrays are told apart from objects. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads an own string property; inherited ones do not count, so `{}` has no `toString` field. */
function ownString(obj: Record<string, unknown>, key: string, field: string): string {
  const value = Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
  if (value === undefined) throw invalid(`${field}.${key}`, "is missing");
  if (typeof value !== "string") throw invalid(`${field}.${key}`, `is ${typeName(value)}, expected a string`);
  return value;
}

function rebuild(json: unknown, field: string, depth: number): ShoalError {
  if (!isRecord(json)) throw invalid(field, `is ${typeName(json)}, expected an object`);
  const name = ownString(json, "name", field);
  const code = ownString(json, "code", field);
  const message = ownString(json, "message", field);
  const retryable = Object.prototype.hasOwnProperty.call(json, "retryable") ? json["retryable"] : undefined;
  if (typeof retryable !== "boolean") {
    throw invalid(`${field}.retryable`, retryable === undefined ? "is missing" : `is ${typeName(retryable)}, expected a boolean`);
  }
  const rawContext = Object.prototype.hasOwnProperty.call(json, "context") ? json["context"] : undefined;
  if (!isRecord(rawContext)) {
    throw invalid(`${field}.context`, rawContext === undefined ? "is missing" : `is ${typeName(rawContext)}, expected an object`);
  }
  const context = copyJson(rawContext, `${field}.context`, 0) as ErrorContext;
  const rawCause = Object.prototype.hasOwnProperty.call(json, "cause") ? json["cause"] : undefined;
  let cause: Error | undefined;
  if (rawCause !== undefined) {
    if (depth >= MAX_CAUSE_DEPTH) throw invalid(`${field}.cause`, `is nested deeper than ${MAX_CAUSE_DEPTH} causes`);
    if (!isRecord(rawCause)) throw invalid(`${field}.cause`, `is ${typeName(rawCause)}, expected an object`);
    if (Object.prototype.hasOwnProperty.call(rawCause, "code")) {
      cause = rebuild(rawCause, `${field}.cause`, depth + 1);
    } else {
      // A plain Error cause travels as name and message; it comes back as an Error so that the
      // next `toJSON` (an error handed on a second time) keeps it.
      cause = new Error(ownString(rawCause, "message", `${field}.cause`));
      cause.name = ownString(rawCause, "name", `${field}.cause`);
    }
  }
  const err = new ShoalError(code, message, { context, retryable, ...(cause === undefined ? {} : { cause }) });
  err.name = name;
  return err;
}

/**
 * Copies a JSON value, checking it really is one: finite numbers, strings, booleans, null,
 * arrays and plain objects, nested at most MAX_CONTEXT_DEPTH deep. Objects are copied into
 * prototype-less objects, so no key (`__proto__`, `constructor`) can reach a prototype.
 */
function copyJson(value: unknown, field: string, depth: number): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalid(field, `is ${value}, which JSON cannot hold`);
    return value;
  }
  if (typeof value !== "object") throw invalid(field, `is ${typeName(value)}, which JSON cannot hold`);
  if (depth >= MAX_CONTEXT_DEPTH) throw invalid(field, `is nested deeper than ${MAX_CONTEXT_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item, i) => copyJson(item, `${field}[${i}]`, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw invalid(field, "is not a plain object");
  const out = Object.create(null) as Record<string, JsonValue>;
  for (const key of Object.keys(value)) {
    out[key] = copyJson((value as Record<string, unknown>)[key], `${field}.${shownKey(key)}`, depth + 1);
  }
  return out;
}

/** A key as it appears in a field path; a hostile key of megabytes must not become the message. */
function shownKey(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}...` : key;
}

/** True for any ShoalError, also one rebuilt by `fromJSON` in another process. */
export function isShoalError(err: unknown): err is ShoalError {
  return err instanceof ShoalError;
}
