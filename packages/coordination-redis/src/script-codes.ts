import { CoordinationError, availabilityLengthError, type TransitionResult } from "@shoal/coordination";
import type { JsonValue } from "@shoal/errors";

/** The CoordinationError codes a script can report itself (the rest come from the connection). */
export type ScriptErrorCode = "UNKNOWN_TORRENT" | "PIECE_OUT_OF_RANGE" | "LENGTH_MISMATCH";

/**
 * The first element of every script's reply, and the one table that says what it means: the
 * non-negative codes are TransitionResults, the negative ones CoordinationError codes. The Lua
 * side gets this table as the `CODE` table of its generated prelude, so the two never disagree.
 */
export const SCRIPT_CODES = {
  ok: 0,
  wrong_state: 1,
  stale_attempt: 2,
  not_holder: 3,
  UNKNOWN_TORRENT: -1,
  PIECE_OUT_OF_RANGE: -2,
  LENGTH_MISMATCH: -3,
} as const satisfies Record<TransitionResult | ScriptErrorCode, number>;

type CodeName = keyof typeof SCRIPT_CODES;
const NAME_OF_CODE = new Map<number, CodeName>(Object.entries(SCRIPT_CODES).map(([name, code]) => [code, name as CodeName]));

/** What the caller knows about the call, for the message and context of an error. */
export interface ScriptCallContext {
  readonly op: string;
  readonly infoHash: string;
  /** The piece index the call was about, when it was about one. */
  readonly piece?: number;
  /** The worker the call was about, when it was about one (an availability vector's). */
  readonly workerId?: string;
}

/**
 * Turns a script's first reply element into its TransitionResult, or throws the CoordinationError
 * it stands for. `detail` is the rest of the reply: for PIECE_OUT_OF_RANGE the torrent's piece
 * count; for LENGTH_MISMATCH the piece count and the vector's length. An unknown code means the scripts and this table are out of step: an invariant is broken.
 */
export function resultOf(code: unknown, ctx: ScriptCallContext, detail: readonly unknown[] = []): TransitionResult {
  const name = typeof code === "number" ? NAME_OF_CODE.get(code) : undefined;
  const context: Record<string, JsonValue> = { op: ctx.op, infoHash: ctx.infoHash };
  if (ctx.piece !== undefined) context["piece"] = ctx.piece;
  switch (name) {
    case undefined:
      throw new CoordinationError("INVARIANT_BROKEN", `${ctx.op} for torrent ${ctx.infoHash}: script answered unknown code ${String(code)}`, {
        context: { ...context, code: String(code) },
      });
    case "UNKNOWN_TORRENT":
      throw new CoordinationError("UNKNOWN_TORRENT", `no piece table for torrent ${ctx.infoHash}`, { context });
    case "PIECE_OUT_OF_RANGE": {
      const count = Number(detail[0]);
      throw new CoordinationError(
        "PIECE_OUT_OF_RANGE",
        `piece ${String(ctx.piece)} is out of range 0..${count - 1} for torrent ${ctx.infoHash}`,
        { context: { ...context, pieceCount: count } },
      );
    }
    case "LENGTH_MISMATCH":
      throw availabilityLengthError(ctx.infoHash, ctx.workerId ?? "(unknown)", Number(detail[1]), Number(detail[0]));
    default:
      return name;
  }
}
