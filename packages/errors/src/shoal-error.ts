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

  toJSON(): ShoalErrorJson {
    const cause = this.cause;
    let causeJson: ShoalErrorJson["cause"];
    if (cause instanceof ShoalError) causeJson = cause.toJSON();
    else if (cause instanceof Error) causeJson = { name: cause.name, message: cause.message };
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      context: this.context,
      ...(causeJson ? { cause: causeJson } : {}),
    };
  }

  /** Rebuilds an error that crossed a process boundary. The subclass identity is kept by `name`. */
  static fromJSON(json: ShoalErrorJson): ShoalError {
    const err = new ShoalError(json.code, json.message, {
      context: json.context,
      retryable: json.retryable,
      cause: json.cause && "code" in json.cause ? ShoalError.fromJSON(json.cause) : json.cause,
    });
    err.name = json.name;
    return err;
  }
}

/** True for any ShoalError, also one rebuilt by `fromJSON` in another process. */
export function isShoalError(err: unknown): err is ShoalError {
  return err instanceof ShoalError;
}
