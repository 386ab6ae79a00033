import { measure, toGsm7, type ComposedSms } from './messages-format.js';
import { DEFAULT_MESSAGE_OPTIONS, farmerFacts, MAX_SEGMENTS, type FarmerMessageInput, type MessageOptions } from './messages-facts.js';
import { farmerText, type FarmerFacts } from './messages-text.js';
import { STOP_HINT } from './messages-choices.js';

/**
 * The warning texts, pure: the same decision and options always give the same text, segments and cost.
 * Farmer SMS here; voice scripts in messages-voice.ts; officer notices in messages-officer.ts.
 */
export type { ComposedSms, SmsEncoding } from './messages-format.js';
export { stripDiacritics, toGsm7 } from './messages-format.js';
export {
  DEFAULT_ACT_BY_AIR_C,
  DEFAULT_MESSAGE_OPTIONS,
  DEFAULT_SMS_COST_USD_PER_SEGMENT,
  MAX_SEGMENTS,
  estimateActByMs,
  expectedMinimum,
  type FarmerMessageInput,
  type MessageOptions,
} from './messages-facts.js';
export { composeVoiceScript, type VoiceScript } from './messages-voice.js';
export { composeOfficerMessage, type OfficerNotice } from './messages-officer.js';

export function composeFarmerMessage(input: FarmerMessageInput, options: Partial<MessageOptions> = {}): ComposedSms {
  const opts = { ...DEFAULT_MESSAGE_OPTIONS, ...options };
  const facts = farmerFacts(input, opts);
  // Shorter forms, tried in order until the text fits: long station names are the usual culprit.
  const shrinks: ((f: FarmerFacts) => FarmerFacts)[] = [
    (f) => f,
    (f) => ({ ...f, commune: null }),
    (f) => ({ ...f, commune: null, station: truncate(f.station, 24) }),
    (f) => ({ ...f, commune: null, station: truncate(f.station, 24), trend: null }),
    (f) => ({ ...f, commune: null, station: truncate(f.station, 12), trend: null, readingClock: null }),
  ];
  let composed: ComposedSms | null = null;
  for (const shrink of shrinks) {
    composed = render(input, shrink(facts), opts);
    if (composed.segments <= MAX_SEGMENTS[composed.encoding]) return composed;
  }
  if (!composed) throw new Error('no message form to try');
  return composed;
}

function render(input: FarmerMessageInput, facts: FarmerFacts, opts: MessageOptions): ComposedSms {
  // Every message ends with how to stop (issue 16); the shrinking above never drops it.
  const text = `${farmerText(input.language, facts)} ${STOP_HINT[input.language][opts.stopHint]}`.normalize('NFC');
  return measure(input.diacritics ? text : toGsm7(text, input.language), opts.smsCostUsdPerSegment);
}

function truncate(text: string, max: number): string {
  // Code points, so a surrogate pair is never cut in half.
  const chars = Array.from(text);
  return chars.length <= max
    ? text
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}.`;
}
export {
  CALL_MENU,
  CALL_SAY,
  composeChoiceReply,
  composePreAlert,
  parseChoice,
  STOP_HINT,
  SURVEY_KEYS,
  type FarmerChoice,
  type PreAlertInput,
  type StopHint,
} from './messages-choices.js';
