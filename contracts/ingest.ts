import type { StationId } from './ids.js';
import type { Reading, RejectReason } from './reading.js';
import type { StationStatus } from './station-messages.js';

/**
 * Where the gateway (in-process) or a broker consumer hands what stations sent.
 * `accept*` resolves only once the data is durable, so the caller may then PUBACK;
 * it rejects when storage is broken, and the caller must then not acknowledge.
 */
export interface IngestSink {
  acceptReadings(stationId: StationId, readings: readonly Reading[]): Promise<void>;
  acceptStatus(stationId: StationId, status: StationStatus): Promise<void>;
}

/** Counts and logs what was refused at the edge. */
export interface RejectRecorder {
  reject(stationId: string | null, reason: RejectReason, count?: number): void;
}

export type TokenCheck = 'ok' | 'unknown_station' | 'bad_token';

/** Checks a station's MQTT credentials against the registry. */
export interface StationAuthenticator {
  verify(stationId: string, token: Buffer): Promise<TokenCheck>;
}
