import { DecodeError, decode, encode, isDict, isList, type BValue } from "@shoal/bencode";
import type { MutationContext } from "./mutate.js";
import type { Rng } from "./rng.js";

/*
 * Mutations of the decoded bencode tree rather than of its bytes. Byte mutations mostly break
 * the bencode itself (over half of mutated torrents never get past the tokenizer), so the
 * parsers behind it see few hostile values; a tree mutation keeps the document well formed and
 * changes what it means: a field of the wrong type, a length at a numeric edge, a key removed
 * or added, a list repeated. The tree is re-encoded canonically afterwards.
 */

/** Integers on the edges the parsers check: signs, 32-bit and safe-integer bounds, beyond them. */
const EDGE_INTEGERS: readonly (number | bigint)[] = [0, 1, -1, 2, 19, 20, 255, 256, 16383, 16384, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 2n ** 53n, 2n ** 64n, -(2n ** 64n)];

const latin1Decoder = new TextDecoder("latin1");

interface Slot {
  /** Replaces the value in its container. */
  readonly set: (value: BValue) => void;
  /** Removes it from its container (a dict key, a list item). */
  readonly remove: () => void;
  readonly value: BValue;
  readonly container: BValue[] | Map<string, BValue> | undefined;
}

/** Every value in the tree with a way to replace or remove it; the root cannot be removed. */
function slots(root: BValue, setRoot: (v: BValue) => void): Slot[] {
  const out: Slot[] = [{ set: setRoot, remove: () => setRoot(new Map()), value: root, container: undefined }];
  const stack: BValue[] = [root];
  while (stack.length > 0 && out.length < 4096) {
    const node = stack.pop()!;
    if (isList(node)) {
      node.forEach((child, i) => {
        out.push({ set: (v) => (node[i] = v), remove: () => node.splice(node.indexOf(child), 1), value: child, container: node });
        stack.push(child);
      });
    } else if (isDict(node)) {
      for (const [key, child] of node) {
        out.push({ set: (v) => node.set(key, v), remove: () => node.delete(key), value: child, container: node });
        stack.push(child);
      }
    }
  }
  return out;
}

/** A new value: a dictionary token, an edge integer, or an empty or small container. */
function freshValue(rng: Rng, ctx: MutationContext, like: BValue | undefined): BValue {
  switch (rng.below(7)) {
    case 0:
      return rng.pick(EDGE_INTEGERS);
    case 1:
      return ctx.dictionary.length > 0 ? rng.pick(ctx.dictionary).slice() : rng.bytes(rng.below(8));
    case 2:
      return rng.bytes(rng.skewed(64));
    case 3:
      return [];
    case 4:
      return new Map();
    case 5:
      return like === undefined ? rng.bytes(4) : [like];
    default:
      return typeof like === "number" ? like + rng.between(-3, 3) : rng.pick(EDGE_INTEGERS);
  }
}

/** A key worth adding: one the format uses (from the dictionary, its bencode length prefix cut off) or random bytes. */
function freshKey(rng: Rng, ctx: MutationContext): string {
  if (ctx.dictionary.length > 0 && rng.chance(0.8)) {
    const token = latin1Decoder.decode(rng.pick(ctx.dictionary));
    const colon = token.indexOf(":");
    if (colon > 0 && /^\d+$/.test(token.slice(0, colon))) return token.slice(colon + 1);
  }
  return latin1Decoder.decode(rng.bytes(rng.between(0, 6)));
}

/**
 * Decodes `input` leniently, applies one to four tree mutations and re-encodes it; returns
 * undefined when the input is not bencode (the byte mutators handle those).
 */
export function mutateTree(input: Uint8Array, ctx: MutationContext): Uint8Array | undefined {
  let root: BValue;
  try {
    root = decode(input, { keyOrder: "lenient", allowTrailing: true });
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
  const { rng } = ctx;
  const rounds = rng.between(1, 4);
  for (let r = 0; r < rounds; r++) {
    const all = slots(root, (v) => (root = v));
    const slot = rng.pick(all);
    switch (rng.below(6)) {
      case 0:
        slot.set(freshValue(rng, ctx, slot.value));
        break;
      case 1:
        if (slot.container !== undefined) slot.remove();
        break;
      case 2: {
        // Adds a key to a dict, or items to a list: more files, more peers, more tiers.
        const target = isDict(slot.value) || isList(slot.value) ? slot.value : slot.container;
        if (target === undefined) break;
        if (isDict(target)) target.set(freshKey(rng, ctx), freshValue(rng, ctx, undefined));
        else if (isList(target)) {
          const copies = rng.skewed(200);
          const item = target.length > 0 ? rng.pick(target) : freshValue(rng, ctx, undefined);
          for (let i = 0; i < copies; i++) target.push(item);
        }
        break;
      }
      case 3: {
        // Moves a value somewhere else in the tree: a structure where a scalar belongs, and back.
        const other = rng.pick(all);
        if (other !== slot) slot.set(other.value);
        break;
      }
      case 4:
        if (slot.value instanceof Uint8Array) {
          const grown = new Uint8Array(slot.value.length + rng.between(-Math.min(slot.value.length, 21), 21));
          grown.set(slot.value.subarray(0, grown.length));
          slot.set(grown);
        } else if (typeof slot.value === "number" || typeof slot.value === "bigint") {
          slot.set(rng.pick(EDGE_INTEGERS));
        }
        break;
      default:
        slot.set(freshValue(rng, ctx, undefined));
        break;
    }
  }
  try {
    const out = encode(root);
    return out.length <= ctx.maxBytes ? out : undefined;
  } catch (err) {
    // A value moved into itself makes a cycle, which encode refuses: skip this mutation.
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}
