import type { StationId } from './ids.js';
import { isStationId } from './ids.js';

/** The only place topic strings are written. See docs/protocol.md. */
export const TOPIC_ROOT = 'stations';

export type StationTopicKind = 'readings' | 'status' | 'config';

export const readingsTopic = (id: StationId): string => `${TOPIC_ROOT}/${id}/readings`;
export const statusTopic = (id: StationId): string => `${TOPIC_ROOT}/${id}/status`;
export const configTopic = (id: StationId): string => `${TOPIC_ROOT}/${id}/config`;

/** Subscription filters used by an ingest service that consumes from a broker. */
export const ALL_READINGS_FILTER = `${TOPIC_ROOT}/+/readings`;
export const ALL_STATUS_FILTER = `${TOPIC_ROOT}/+/status`;

/** Where the gateway diverts a publish it refused, so it reaches no subscriber and no retained store. */
export const REJECTED_TOPIC = '$frostwatch/rejected';

export interface StationTopic {
  stationId: StationId;
  kind: StationTopicKind;
}

/** `stations/{id}/{kind}` → its parts; anything else (extra levels, bad id, unknown kind) → null. */
export function parseStationTopic(topic: string): StationTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TOPIC_ROOT) return null;
  const [, id, kind] = parts as [string, string, string];
  if (!isStationId(id)) return null;
  if (kind !== 'readings' && kind !== 'status' && kind !== 'config') return null;
  return { stationId: id, kind };
}
