import { expect } from "vitest";

/**
 * Asserts that `run` rejects with an instance of `errorClass` carrying `code`. Branches on the
 * class and code, never on message text, as callers of the ports do.
 */
export async function expectRejection(
  run: () => Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error & { readonly code: string },
  code: string,
  label: string,
): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught, `${label}: should reject with ${errorClass.name} ${code}`).toBeInstanceOf(errorClass);
  expect((caught as { code?: unknown }).code, `${label}: error code`).toBe(code);
}
