/**
 * Intakes the server runs besides its broker edge (docs/devices.md): sources it connects out to. One for now, The
 * Things Stack's MQTT server (server/sources/tts.ts). Built with the server after the sink, started by its listen
 * step, closed first (no new uplinks while the rest drains).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock, DeviceDirectory, IngestSink, RefusalTally, ServerEnv } from '../../contracts/index.js';
import { createRejectLog } from '../../gateway/reject-log.js';
import { ingestRejectedCounter } from '../ingest/reject-metric.js';
import { type TtsSource, createTtsSource, ttsSettingsFrom } from './tts.js';

/** Optional all: settings built by hand (tests) leave the sources out. */
export type SourceSettings = Pick<ServerEnv, 'DATA_DIR'> &
  Partial<Pick<ServerEnv, 'TTS_MQTT_URL' | 'TTS_APP_ID' | 'TTS_TENANT' | 'TTS_API_KEY' | 'TTS_API_URL'>>;

export interface SourceParts {
  sink: IngestSink;
  /** Each station's refusals, shown beside it. */
  refusals?: RefusalTally;
  devices: DeviceDirectory;
  metrics: Registry;
  clock: Clock;
  logger: Logger;
}

/** The TTS client when TTS_MQTT_URL is set, else null; not connected until its start(). */
export function buildTtsSource(settings: SourceSettings, parts: SourceParts): TtsSource | null {
  const tts = ttsSettingsFrom(settings);
  if (tts === null) return null;
  // The same reject metric as the broker consumer's (server/broker-edge.ts), shared when both run.
  const rejected = ingestRejectedCounter(parts.metrics);
  return createTtsSource({
    ...tts,
    sink: parts.sink,
    rejects: createRejectLog(rejected, parts.logger.child({ module: 'ingest' }), parts.clock, parts.refusals),
    devices: parts.devices,
    clock: parts.clock,
    logger: parts.logger.child({ module: 'tts' }),
    metrics: parts.metrics,
    statePath: join(settings.DATA_DIR, 'tts-state.json'),
  });
}
