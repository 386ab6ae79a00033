import type { StationId } from '../../contracts/ids.js';

/**
 * The NATS subjects of the readings log (docs/scale-out.md, "The readings log").
 *
 * A gateway publishes a station's readings to `fw.readings.in.<stationId>` and its status to
 * `fw.status.in.<stationId>`. The servers' subject mapping (`natsPartitionMapping`) rewrites both, before JetStream
 * sees them, to the station's partition: `fw.readings.part.<p>.<stationId>` and `fw.readings.part.<p>.<stationId>.status`,
 * p = partition(P, stationId) — the same p for both, as the mapping hashes the same token. The stream holds
 * `fw.readings.part.>`, and partition p's consumer filters `fw.readings.part.<p>.>`, so it sees one station's readings
 * and statuses in the order they were stored.
 */
export const READINGS_IN_PREFIX = 'fw.readings.in';
export const STATUS_IN_PREFIX = 'fw.status.in';
export const PARTITION_PREFIX = 'fw.readings.part';

/** Station ids are `[a-z0-9][a-z0-9-]*` (contracts/ids.ts): always one subject token, never a wildcard. */
export const readingsSubject = (stationId: StationId): string => `${READINGS_IN_PREFIX}.${stationId}`;
export const statusSubject = (stationId: StationId): string => `${STATUS_IN_PREFIX}.${stationId}`;
/** Everything stored for partition p: its consumer's filter. */
export const partitionFilter = (partition: number): string => `${PARTITION_PREFIX}.${partition}.>`;

/** The partition and station a stored message's subject names, and whether it is a status; null for any other subject. */
export function parsePartitionSubject(subject: string): { partition: number; stationId: string; kind: 'readings' | 'status' } | null {
  const tokens = subject.split('.');
  if (tokens.length < 5 || tokens.length > 6 || `${tokens[0]}.${tokens[1]}.${tokens[2]}` !== PARTITION_PREFIX) return null;
  const partition = Number(tokens[3]);
  const stationId = tokens[4];
  if (!Number.isInteger(partition) || partition < 0 || stationId === undefined) return null;
  if (tokens.length === 5) return { partition, stationId, kind: 'readings' };
  return tokens[5] === 'status' ? { partition, stationId, kind: 'status' } : null;
}

/**
 * The nats-server configuration block that partitions the two inbound subjects over `partitions` partitions
 * (subject mapping's `partition(n, wildcard-index)`, nats-server ≥ 2.8). Every server of the cluster needs the same
 * block: the mapping runs on the server a gateway is connected to. Changing P moves stations between partitions,
 * so it is fixed for the life of a stream (a new P means draining the old partitions first).
 */
export function natsPartitionMapping(partitions: number): string {
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) throw new Error(`partitions must be 1–1024, got ${partitions}`);
  return [
    'mappings = {',
    `  "${READINGS_IN_PREFIX}.*": "${PARTITION_PREFIX}.{{partition(${partitions},1)}}.{{wildcard(1)}}"`,
    `  "${STATUS_IN_PREFIX}.*": "${PARTITION_PREFIX}.{{partition(${partitions},1)}}.{{wildcard(1)}}.status"`,
    '}',
    '',
  ].join('\n');
}
