/** A bad flag, config value or argument: reported in one line, exit code 2, before work starts. */
export class UsageError extends Error {
  override name = 'UsageError';
}
