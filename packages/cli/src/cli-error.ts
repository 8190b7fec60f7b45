/** A failure the CLI reports as one line and an exit status, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * A mistake in a cluster command's arguments: reported as one line that points at the command's
 * help, exit 2.
 */
export class UsageFailure extends Error {}
