import type { DeviceDirectory, StationDeviceInfo, StationId, StationSource } from '../../contracts/index.js';
import type { StationRecord, StationRepository } from './stations.js';

/** The registry as the intake's decoders ask it: whose device is this (one indexed SQLite read each). */
export function deviceDirectory(stations: StationRepository): DeviceDirectory {
  return {
    ofStation: (stationId: StationId) => infoOf(stations.get(stationId)),
    stationOf: (source: StationSource, deviceId: string) => infoOf(stations.byDevice(source, deviceId)),
  };
}

function infoOf(record: StationRecord | null): StationDeviceInfo | null {
  if (record === null) return null;
  return { stationId: record.id, source: record.source, deviceId: record.deviceId, preset: record.preset, fieldMap: record.fieldMap };
}
