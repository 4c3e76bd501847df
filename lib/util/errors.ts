/**
 * An error caused by what the user asked for (bad flag, missing data, bad file), as opposed to a bug.
 * The CLI prints its message without a stack trace; the message says what was expected, what was found and
 * what to do.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
