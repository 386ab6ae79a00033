import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A started process: its output collected, its exit awaited, a kill that waits for it. */
export interface WatchedProcess {
  readonly proc: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Wraps a started process (spawned with stdout/stderr piped) as a WatchedProcess. */
export function watchProcess(proc: ChildProcess): WatchedProcess {
  let text = '';
  proc.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = once(proc, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    proc,
    output: () => text,
    exited,
    kill: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
