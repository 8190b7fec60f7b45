import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { INVALID_ERROR_JSON, MAX_CAUSE_DEPTH, ShoalError, type ErrorContext, type ShoalErrorJson } from "../src/index.js";

/*
 * `fromJSON` reads what another process sent: a NATS payload or a BullMQ failure reason that a
 * bug, a version skew or an attacker may have shaped. Whatever arrives, the answer is a
 * ShoalError or a thrown ShoalError INVALID_ERROR_JSON, never a TypeError, a stack overflow or
 * a changed prototype.
 */

const VALID: ShoalErrorJson = {
  name: "StorageError",
  code: "IO",
  message: "fs.open failed on /x",
  retryable: true,
  context: { op: "fs.open", path: "/x" },
};

/** Runs fromJSON and returns the INVALID_ERROR_JSON error it must throw. */
function rejection(input: unknown): ShoalError {
  let caught: unknown;
  try {
    ShoalError.fromJSON(input);
  } catch (err) {
    caught = err;
  }
  expect(caught, `fromJSON(${preview(input)}) should throw`).toBeInstanceOf(ShoalError);
  const err = caught as ShoalError;
  expect(err.code, err.message).toBe(INVALID_ERROR_JSON);
  expect(err.retryable).toBe(false);
  return err;
}

function preview(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 80)}...` : text;
  } catch {
    return String(value);
  }
}

/** `depth` errors, each the cause of the one before, as JSON text built without recursion. */
function causeChainText(depth: number): string {
  const open = '{"name":"E","code":"C","message":"m","retryable":false,"context":{}';
  return `${open},"cause":`.repeat(depth - 1) + `${open}}` + "}".repeat(depth - 1);
}

describe("ShoalError.fromJSON on hostile input", () => {
  it("refuses values that are not objects", () => {
    for (const input of [null, undefined, 42, "StorageError", true, [], [VALID], () => VALID]) {
      expect(rejection(input).context["field"]).toBe("error");
    }
  });

  it("refuses a missing or mistyped field and names it", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...VALID, name: undefined }, "error.name"],
      [{ ...VALID, code: 7 }, "error.code"],
      [{ ...VALID, code: null }, "error.code"],
      [{ ...VALID, message: ["m"] }, "error.message"],
      [{ ...VALID, retryable: "true" }, "error.retryable"],
      [{ ...VALID, retryable: 1 }, "error.retryable"],
      [{ ...VALID, retryable: undefined }, "error.retryable"],
      [{ ...VALID, context: undefined }, "error.context"],
      [{ ...VALID, context: null }, "error.context"],
      [{ ...VALID, context: ["op"] }, "error.context"],
      [{ ...VALID, context: "op=fs.open" }, "error.context"],
      [{ ...VALID, cause: "ENOENT" }, "error.cause"],
      [{ ...VALID, cause: null }, "error.cause"],
      [{ ...VALID, cause: { name: "Error" } }, "error.cause.message"],
      [{ ...VALID, cause: { message: "boom", name: 3 } }, "error.cause.name"],
      [{ ...VALID, cause: { ...VALID, code: false } }, "error.cause.code"],
      [{ ...VALID, cause: { ...VALID, cause: { ...VALID, context: 5 } } }, "error.cause.cause.context"],
    ];
    for (const [input, field] of cases) {
      const err = rejection(input);
      expect(err.context["field"], err.message).toBe(field);
      expect(err.message).toContain(field);
    }
  });

  it("reads only own fields, never inherited ones", () => {
    rejection(Object.create(VALID));
    rejection({ ...VALID, retryable: undefined, __proto__: { retryable: true } });
  });

  it("refuses context values JSON cannot hold", () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, undefined, 10n, () => 1, new Date(0), new Map(), Symbol("s")]) {
      const err = rejection({ ...VALID, context: { op: "x", bad: value } });
      expect(err.context["field"]).toBe("error.context.bad");
    }
  });

  it("turns a cause chain of ten thousand errors into INVALID_ERROR_JSON, not a stack overflow", () => {
    const err = rejection(JSON.parse(causeChainText(10_000)));
    expect(err.message).toContain(`deeper than ${MAX_CAUSE_DEPTH} causes`);
  });

  it("turns a context nested a hundred thousand levels into INVALID_ERROR_JSON, not a stack overflow", () => {
    const deep = JSON.parse(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`) as Record<string, unknown>;
    rejection({ ...VALID, context: deep });
  });

  it("accepts the longest cause chain toJSON writes", () => {
    const err = ShoalError.fromJSON(JSON.parse(causeChainText(MAX_CAUSE_DEPTH + 1)));
    let depth = 0;
    for (let e: unknown = err.cause; e instanceof ShoalError; e = e.cause) depth++;
    expect(depth).toBe(MAX_CAUSE_DEPTH);
  });

  it("keeps huge messages and wide contexts intact, and keeps its own message short for a huge key", () => {
    const message = "x".repeat(8 * 1024 * 1024);
    const context = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const err = ShoalError.fromJSON({ ...VALID, message, context });
    expect(err.message.length).toBe(message.length);
    expect(Object.keys(err.context).length).toBe(100_000);
    expect(err.context["k99999"]).toBe(99_999);

    const hugeKey = "k".repeat(1024 * 1024);
    const refusal = rejection({ ...VALID, context: { [hugeKey]: Number.NaN } });
    expect(refusal.message.length).toBeLessThan(300);
  });

  it("cannot pollute a prototype through __proto__, constructor or prototype keys", () => {
    const text =
      '{"name":"E","code":"C","message":"m","retryable":false,' +
      '"context":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"list":[{"__proto__":{"polluted":"yes"}}]},' +
      '"cause":{"name":"E","code":"C","message":"m","retryable":false,"context":{"__proto__":{"polluted":"yes"}}}}';
    const err = ShoalError.fromJSON(JSON.parse(text));
    const probe: Record<string, unknown> = {};
    expect(probe["polluted"]).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>)["polluted"]).toBeUndefined();
    // The keys are kept as data, on objects that have no prototype to reach.
    expect(Object.getPrototypeOf(err.context)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(err.context, "__proto__")?.value).toEqual({ polluted: "yes" });
    const listed = (err.context["list"] as Record<string, unknown>[])[0]!;
    expect(Object.getOwnPropertyDescriptor(listed, "__proto__")?.value).toEqual({ polluted: "yes" });
    expect(JSON.parse(JSON.stringify(err)).context.constructor).toEqual({ prototype: { polluted: "yes" } });
  });

  it("copies the context, so changing the input later does not change the error", () => {
    const input = { ...VALID, context: { op: "fs.open", list: [1, 2] } };
    const err = ShoalError.fromJSON(input);
    input.context.list.push(3);
    expect(err.context["list"]).toEqual([1, 2]);
  });

  it("arbitrary JSON yields a ShoalError or throws INVALID_ERROR_JSON, nothing else", () => {
    const field = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    const errorish = fc.record(
      { name: field, code: field, message: field, retryable: field, context: field, cause: field },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), errorish), (input) => {
        try {
          expect(ShoalError.fromJSON(input)).toBeInstanceOf(ShoalError);
        } catch (err) {
          expect(err).toBeInstanceOf(ShoalError);
          expect((err as ShoalError).code).toBe(INVALID_ERROR_JSON);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("ShoalError.toJSON on awkward chains", () => {
  it("cuts a cause chain that loops back instead of recursing forever", () => {
    const a = new ShoalError("A", "a");
    const b = new ShoalError("B", "b", { cause: a });
    Object.defineProperty(a, "cause", { value: b });
    const json = JSON.parse(JSON.stringify(a)) as ShoalErrorJson;
    expect(json.code).toBe("A");
    expect(json.cause).toMatchObject({ code: "B" });
    expect((json.cause as ShoalErrorJson).cause).toBeUndefined();

    const self = new ShoalError("SELF", "its own cause");
    Object.defineProperty(self, "cause", { value: self });
    expect(self.toJSON().cause).toBeUndefined();
  });

  it("keeps at most MAX_CAUSE_DEPTH causes, and fromJSON reads that back", () => {
    let err: ShoalError = new ShoalError("E0", "innermost");
    for (let i = 1; i < 40; i++) err = new ShoalError(`E${i}`, `level ${i}`, { cause: err });
    const back = ShoalError.fromJSON(JSON.parse(JSON.stringify(err)));
    const codes: string[] = [];
    for (let e: unknown = back; e instanceof ShoalError; e = e.cause) codes.push(e.code);
    expect(codes).toHaveLength(MAX_CAUSE_DEPTH + 1);
    expect(codes[0]).toBe("E39");
  });

  it("round-trips arbitrary error trees exactly", () => {
    // fast-check's JSON type and this package's differ only in readonly-ness.
    const context = fc
      .dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
      .map((c) => c as unknown as ErrorContext);
    const plainCause = fc.record({ name: fc.string(), message: fc.string() });
    const { tree } = fc.letrec<{ tree: ShoalErrorJson }>((tie) => ({
      tree: fc.record(
        {
          name: fc.string(),
          code: fc.string(),
          message: fc.string(),
          retryable: fc.boolean(),
          context,
          cause: fc.oneof({ depthSize: "small" }, plainCause, tie("tree")),
        },
        { requiredKeys: ["name", "code", "message", "retryable", "context"] },
      ),
    }));
    fc.assert(
      fc.property(tree, (json) => {
        // JSON text first, as on the wire: it also turns -0 into 0, which JSON cannot tell apart.
        const wire = JSON.parse(JSON.stringify(json)) as ShoalErrorJson;
        expect(JSON.parse(JSON.stringify(ShoalError.fromJSON(wire)))).toEqual(wire);
      }),
      { numRuns: 500 },
    );
  });
});
