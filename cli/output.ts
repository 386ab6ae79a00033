/** The CLI talks to a person: plain lines on stdout, one-line errors on stderr, never a stack trace. */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

export class CliError extends Error {
  override readonly name = 'CliError';
}

export function fail(message: string): never {
  throw new CliError(message);
}

/** commander's collector for a repeatable option (`--station a --station b`). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
