import { createHash } from "node:crypto";
import { CoordinationError, SUBJECTS, bytesSubjectOf, subjectOf, type SubjectName } from "@shoal/coordination";

/** Every subject name, in the order `SUBJECTS` lists them. */
const SUBJECT_NAMES = Object.keys(SUBJECTS) as SubjectName[];

/**
 * A subject token we build ourselves (infoHash, prefix part, group): no dots, wildcards or
 * whitespace, so it can never widen a subject or a consumer filter.
 */
const TOKEN = /^[A-Za-z0-9_-]+$/;
/** Characters a consumer name keeps as they are; `_` is left out because it separates the parts. */
const NAME_SAFE = /^[A-Za-z0-9-]+$/;
/**
 * Longest group part of a consumer name. JetStream keeps a consumer in a directory named after
 * it, so the whole name has to stay well below the 255-byte file name limit; 64 leaves room for
 * the subject name, a 64-character infoHash and the hash suffix.
 */
const MAX_GROUP_PART = 64;

/** Wire subjects of one bus: `subjectOf` from the coordination schema behind an optional prefix. */
export class SubjectSpace {
  constructor(private readonly prefix: string) {}

  /** The wire subject of `name` for one torrent, or for every torrent with "*". */
  subject(name: SubjectName, infoHash: string | "*"): string {
    if (infoHash !== "*" && !TOKEN.test(infoHash)) {
      throw new CoordinationError("INVARIANT_BROKEN", `infoHash ${JSON.stringify(infoHash)} cannot be a subject token`);
    }
    const s = subjectOf(name, infoHash);
    return this.prefix === "" ? s : `${this.prefix}.${s}`;
  }

  /** The subject of one message's chunks (`bytesSubjectOf`), or of all of them with "*" and "*". */
  bytesSubject(infoHash: string | "*", id: string | "*"): string {
    for (const token of [infoHash, id]) {
      if (token !== "*" && !TOKEN.test(token)) {
        throw new CoordinationError("INVARIANT_BROKEN", `${JSON.stringify(token)} cannot be a subject token`);
      }
    }
    const s = bytesSubjectOf(infoHash, id);
    return this.prefix === "" ? s : `${this.prefix}.${s}`;
  }

  /**
   * The subjects the stream captures: every durable subject for every torrent, derived from
   * `SUBJECTS`, so a subject made durable there is captured without touching this package.
   */
  durableSubjects(): string[] {
    return SUBJECT_NAMES.filter((n) => SUBJECTS[n].durable).map((n) => this.subject(n, "*"));
  }
}

/** The durable subject names, for validating config that names them. */
export function durableSubjectNames(): SubjectName[] {
  return SUBJECT_NAMES.filter((n) => SUBJECTS[n].durable);
}

/**
 * The durable consumer of one queue group on one subject filter: `<group>_<subject>_<infoHash or
 * "all">`, e.g. `piece-verifier_piece_staged_all`. Every member of the group computes the same
 * name and so shares the consumer. A group that is not made of letters, digits and dashes, or is
 * longer than 64 characters, is cleaned up for readability and gets a hash of the real group
 * appended, so two groups never share a consumer by accident.
 */
export function consumerName(group: string, name: SubjectName, infoHash: string | "*"): string {
  assertGroup(group);
  if (infoHash !== "*" && !TOKEN.test(infoHash)) {
    throw new CoordinationError("INVARIANT_BROKEN", `infoHash ${JSON.stringify(infoHash)} cannot be part of a consumer name`);
  }
  const filter = infoHash === "*" ? "all" : infoHash;
  if (NAME_SAFE.test(group) && group.length <= MAX_GROUP_PART) return `${group}_${name}_${filter}`;
  const readable = group.replace(/[^A-Za-z0-9-]/g, "-").slice(0, MAX_GROUP_PART);
  const digest = createHash("sha256").update(group).digest("hex").slice(0, 8);
  return `${readable}_${name}_${filter}_${digest}`;
}

/**
 * A queue group is sent to the server as it is (core queue subscriptions), where whitespace would
 * split the protocol line; an empty group would silently mean "no group".
 */
export function assertGroup(group: string): void {
  if (group.length === 0 || /\s/.test(group)) {
    throw new CoordinationError("INVARIANT_BROKEN", `queue group ${JSON.stringify(group)} must be non-empty and without whitespace`);
  }
}

/** Checks a subject prefix from config: dot-separated tokens, or empty for none. */
export function isSubjectPrefix(prefix: string): boolean {
  return prefix === "" || prefix.split(".").every((t) => TOKEN.test(t));
}
