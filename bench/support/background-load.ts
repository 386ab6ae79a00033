/** The parent side of bench/support/background-load-child.ts: background stations publishing from another process. */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ConnectMessage, ParentMessage } from './background-load-child.js';

export interface BackgroundLoad {
  /** Starts publishing `perS` readings a second from every station. */
  start(): void;
  /** Stops, and says how many were acknowledged over how long. */
  stop(): Promise<{ sent: number; elapsedS: number }>;
  /** Kills the child if it is still there (after a failure). */
  kill(): void;
}

/** Forks the child, connects the stations (16 logins at a time) and resolves once all are connected. */
export async function backgroundLoad(options: Omit<ConnectMessage, 'kind'>, onConnected: (n: number) => void): Promise<BackgroundLoad> {
  const script = fileURLToPath(new URL('./background-load-child.js', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const post = (message: ParentMessage): void => {
    child.send(message);
  };
  const next = (kind: ChildMessage['kind']): Promise<ChildMessage> => waitFor(child, kind, onConnected);
  try {
    const ready = next('ready');
    post({ kind: 'connect', ...options });
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    start: () => post({ kind: 'start' }),
    stop: async () => {
      const stopped = next('stopped');
      post({ kind: 'stop' });
      const message = await stopped;
      return message.kind === 'stopped' ? { sent: message.sent, elapsedS: message.elapsedS } : { sent: 0, elapsedS: 0 };
    },
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

function waitFor(child: ChildProcess, kind: ChildMessage['kind'], onConnected: (n: number) => void): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage): void => {
      if (message.kind === 'connected') onConnected(message.n);
      if (message.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`background load child exited (${code}) before '${kind}'`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
