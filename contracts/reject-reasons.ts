import { z } from 'zod';

/** Why a payload (or one reading of a batch) was not stored. Used as a metric label.
 * Apart from reading.ts (which parses bytes with Node's Buffer) so the dashboard can use it too. */
export const RejectReasonSchema = z.enum([
  'too_large',
  'bad_json',
  'not_object',
  'empty_batch',
  'batch_too_long',
  'missing_field',
  'wrong_type',
  'non_finite',
  'out_of_range',
  'bad_timestamp',
  'clock_future',
  'clock_past',
  'bad_status',
  'forbidden_topic',
  'unknown_topic',
  'unknown_station',
  // A LoRaWAN uplink whose payload nobody could decode: no network-server codec output and no bundled codec, or the
  // codec answered errors or nothing (docs/devices.md).
  'no_decoded_payload',
  // A vendor codec that threw, ran past its time limit or out of memory in the sandbox (docs/devices.md).
  'codec_failed',
]);
export type RejectReason = z.infer<typeof RejectReasonSchema>;
