import { EventEmitter } from 'node:events';
import type { IngestSink, Reading, StationId, StationStatus } from '../../contracts/index.js';

type Mode = { kind: 'accept' } | { kind: 'hold' } | { kind: 'fail'; error: Error };

interface Held {
  settle: (error: Error | null) => void;
}

/**
 * The tests' own IngestSink: records what became "durable", and can be told to hold calls until released
 * (to watch the PUBACK wait) or to fail them (storage broken). Emits 'change' whenever anything happens.
 */
export class RecordingSink extends EventEmitter implements IngestSink {
  readonly readings: Array<{ stationId: StationId; reading: Reading }> = [];
  readonly statuses: Array<{ stationId: StationId; status: StationStatus }> = [];
  #mode: Mode = { kind: 'accept' };
  #held: Held[] = [];

  accept(): void {
    this.#mode = { kind: 'accept' };
  }

  /** Calls from now on wait until `release()`. */
  hold(): void {
    this.#mode = { kind: 'hold' };
  }

  fail(error = new Error('storage is down')): void {
    this.#mode = { kind: 'fail', error };
  }

  get heldCount(): number {
    return this.#held.length;
  }

  /** Completes every held call as durable (records it) and goes back to accepting. */
  release(): void {
    this.accept();
    const held = this.#held.splice(0);
    for (const call of held) call.settle(null);
  }

  acceptReadings(stationId: StationId, readings: readonly Reading[]): Promise<void> {
    return this.#settle(() => {
      for (const reading of readings) this.readings.push({ stationId, reading });
    });
  }

  acceptStatus(stationId: StationId, status: StationStatus): Promise<void> {
    return this.#settle(() => {
      this.statuses.push({ stationId, status });
    });
  }

  readingsOf(stationId: string): Reading[] {
    return this.readings.filter((r) => r.stationId === stationId).map((r) => r.reading);
  }

  /** Resolves once `check` holds, re-checked on every change; rejects after `timeoutMs` with `what`. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const onChange = (): void => {
        if (!check()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`RecordingSink: timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('change', onChange);
      };
      this.on('change', onChange);
    });
  }

  #settle(record: () => void): Promise<void> {
    const mode = this.#mode;
    if (mode.kind === 'fail') {
      this.emit('change');
      return Promise.reject(mode.error);
    }
    if (mode.kind === 'accept') {
      record();
      this.emit('change');
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.#held.push({
        settle: (error) => {
          if (error) {
            reject(error);
            return;
          }
          record();
          resolve();
          this.emit('change');
        },
      });
      this.emit('change');
    });
  }
}
