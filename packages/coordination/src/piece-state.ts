/**
 * The piece state machine: the one place that says which state changes are legal.
 *
 *   missing -> claimed(worker, attempt) -> staged -> verified -> stored
 *   skipped: a piece no selected file needs; created so, never claimed
 *
 * Every adapter (memory, Redis Lua) implements exactly this table; the contract suite checks it.
 * `attempt` grows by one on each claim, and every message about a piece carries the attempt it
 * belongs to, so a late or duplicated message for an older attempt is recognised and ignored.
 */
export const PIECE_STATES = ["missing", "claimed", "staged", "verified", "stored", "skipped"] as const;
export type PieceState = (typeof PIECE_STATES)[number];

/** Compact numeric codes, used by adapters that store states in arrays or Redis strings. */
export const PIECE_STATE_CODE = { missing: 0, claimed: 1, staged: 2, verified: 3, stored: 4, skipped: 5 } as const satisfies Record<
  PieceState,
  number
>;

export const TRANSITIONS = {
  /** A worker takes a lease on a piece; the attempt number grows. */
  claim: { from: ["missing"], to: "claimed" },
  /**
   * The holder gives the piece back: a worker its claim (connection lost, draining), a
   * storage-writer a verified piece it held (stopping: the bytes in its memory die with it); or
   * the holder's lease lapsed. The attempt stays; the next claim raises it.
   */
  release: { from: ["claimed", "verified"], to: "missing" },
  /** All blocks arrived and the bytes are in staging. In end-game any worker may stage the current attempt; the first wins. */
  stage: { from: ["claimed"], to: "staged" },
  /** The verifier hashed the staged bytes and they match. */
  verify: { from: ["staged"], to: "verified" },
  /** The hash did not match: the piece is downloaded again, its peers are blamed. */
  reject: { from: ["staged"], to: "missing" },
  /** The bytes are durable in the final object. Terminal. */
  store: { from: ["verified"], to: "stored" },
  /** The staged bytes were lost before verification (staging store restarted): download again. */
  unstage: { from: ["staged", "verified"], to: "missing" },
  /**
   * A storage-writer takes a verified piece under its lease: the store keeps the bytes in memory
   * until the rest of their part arrives, so they live only as long as the writer. The state
   * stays verified; the writer becomes the piece's holder until `store` (durable), `unstage`,
   * `release`, or its lease lapses (then the piece goes back to missing as a lapsed claim does).
   */
  hold: { from: ["verified"], to: "verified" },
} as const satisfies Record<string, { from: readonly PieceState[]; to: PieceState }>;

export type Transition = keyof typeof TRANSITIONS;

/** Outcome of one transition attempt. Only `ok` changed anything. */
export const TRANSITION_RESULTS = ["ok", "wrong_state", "stale_attempt", "not_holder"] as const;
export type TransitionResult = (typeof TRANSITION_RESULTS)[number];

export function isLegal(transition: Transition, from: PieceState): boolean {
  return (TRANSITIONS[transition].from as readonly PieceState[]).includes(from);
}

/** One piece as seen in a snapshot; claims carry their holder and attempt. */
export interface PieceRecord {
  readonly state: PieceState;
  readonly attempt: number;
  /**
   * Whose lease the piece lives with: the worker holding the claim while `claimed` (always set
   * then), or the storage-writer holding its bytes while `verified` (set from `hold` until the
   * piece moves on). Never set in any other state.
   */
  readonly holder?: string;
}

/** States in which a piece may have a holder: a claim, and a verified piece a writer holds. */
const HOLDER_STATES: readonly PieceState[] = [TRANSITIONS.claim.to, TRANSITIONS.hold.to];

/**
 * Invariants any piece table must hold; run in tests after every scenario.
 * Returns the list of violations (empty when the table is sound).
 */
export function checkInvariants(pieces: readonly PieceRecord[], liveWorkers?: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  pieces.forEach((p, i) => {
    if (!PIECE_STATES.includes(p.state)) problems.push(`piece ${i}: unknown state ${String(p.state)}`);
    if (p.state === "claimed" && !p.holder) problems.push(`piece ${i}: claimed without a holder`);
    if (p.holder && !HOLDER_STATES.includes(p.state)) problems.push(`piece ${i}: ${p.state} but holder ${p.holder} is set`);
    if (p.state !== "missing" && p.state !== "stored" && p.state !== "skipped" && p.attempt < 1) {
      problems.push(`piece ${i}: ${p.state} with attempt ${p.attempt} (no claim ever made)`);
    }
    if (liveWorkers && p.holder && !liveWorkers.has(p.holder)) {
      problems.push(`piece ${i}: ${p.state === "claimed" ? "claimed" : "held"} by ${p.holder}, whose heartbeat has expired`);
    }
  });
  return problems;
}
