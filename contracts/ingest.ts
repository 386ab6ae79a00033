import type { DevicePreset, FieldMap, IntegrationKind, StationSource } from './devices.js';
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

/** Keeps what each station (device) had refused, for officers to see beside the station: bad input visible per device. */
export interface RefusalTally {
  record(stationId: string, reason: RejectReason, count: number, atMs: number): void;
}

/** `revoked`: the station is registered but has no valid token until an admin issues a new one. */
export type TokenCheck = 'ok' | 'unknown_station' | 'bad_token' | 'revoked';

/** Checks a station's MQTT credentials against the registry. */
export interface StationAuthenticator {
  verify(stationId: string, token: Buffer): Promise<TokenCheck>;
  /**
   * The same answer without the slow hash, or `null` when only `verify` can tell. Used while a
   * (station, address) is locked out: a token already verified since start still gets in.
   */
  verifyCached?(stationId: string, token: Buffer): TokenCheck | null;
}

/** Tells the gateway that a station's token was revoked or replaced, so its open connections must go. */
export interface CredentialChanges {
  /** Returns the unsubscribe function. */
  onChange(listener: (stationId: StationId) => void): () => void;
}

/** A station's device as the intake needs it: which decoder reads it, and its own field names. */
export interface StationDeviceInfo {
  stationId: StationId;
  source: StationSource;
  /** DevEUI (LoRaWAN, lower-case) or device topic (Wi-Fi boards); null for native stations. */
  deviceId: string | null;
  preset: DevicePreset | null;
  fieldMap: FieldMap | null;
}

/** The registry's answer to "whose device is this", for the decoders of other sources (docs/devices.md). */
export interface DeviceDirectory {
  /** The device a station's own login speaks for; null when the station is unknown. */
  ofStation(stationId: StationId): StationDeviceInfo | null;
  /** The station a source's device id is registered to; null when none is. */
  stationOf(source: StationSource, deviceId: string): StationDeviceInfo | null;
}

/** Checks the MQTT login of another system publishing into the broker (a ChirpStack's MQTT integration). */
export interface IntegrationAuthenticator {
  /** The integration's kind when `username`/`password` is a live integration account, else null. */
  verify(username: string, password: Buffer): Promise<IntegrationKind | null>;
}
