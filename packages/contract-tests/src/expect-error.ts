import { expect } from "vitest";

/**
 * Asserts that `run` rejects with an instance of `errorClass` carrying `code`, and returns the
 * error. Branches on the class and code, never on message text, as callers of the ports do.
 */
export async function expectRejection<E extends Error & { readonly code: string }>(
  run: () => Promise<unknown>,
  errorClass: abstract new (...args: never[]) => E,
  code: string,
  label: string,
): Promise<E> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught, `${label}: should reject with ${errorClass.name} ${code}`).toBeInstanceOf(errorClass);
  expect((caught as { code?: unknown }).code, `${label}: error code`).toBe(code);
  return caught as E;
}
