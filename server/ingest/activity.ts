import type { Clock, IngestSink, Reading, StationId, StationStatus } from '../../contracts/index.js';

export interface StationActivityRecord {
  lastSeenAt: number | null;
  online: boolean | null;
}

/**
 * When each station was last heard (a reading or status received), and its last announced online state.
 * In memory: after a restart a station counts as unheard until it next speaks, which at one reading a
 * minute is within a minute.
 */
export class StationActivity {
  private readonly records = new Map<string, StationActivityRecord>();

  get(id: string): StationActivityRecord {
    return this.records.get(id) ?? { lastSeenAt: null, online: null };
  }

  heard(id: string, atMs: number, online?: boolean): void {
    const record = this.records.get(id) ?? { lastSeenAt: null, online: null };
    record.lastSeenAt = Math.max(record.lastSeenAt ?? 0, atMs);
    if (online !== undefined) record.online = online;
    else if (record.online === null) record.online = true;
    this.records.set(id, record);
  }
}

/**
 * Wraps a sink so every acceptance also updates the activity record, on receipt: the engine evaluates the
 * readings while the spool syncs, and the dashboard event it triggers must already show the station as heard.
 * A station whose reading the spool then refuses (full disk) was heard all the same.
 */
export function withActivity(sink: IngestSink, activity: StationActivity, clock: Clock): IngestSink {
  return {
    acceptReadings(stationId: StationId, readings: readonly Reading[]) {
      const accepted = sink.acceptReadings(stationId, readings);
      activity.heard(stationId, clock.now(), true);
      return accepted;
    },
    acceptStatus(stationId: StationId, status: StationStatus) {
      const accepted = sink.acceptStatus(stationId, status);
      activity.heard(stationId, clock.now(), status.online);
      return accepted;
    },
  };
}
