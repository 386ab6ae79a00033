/**
 * Vendor payload codecs (JavaScript written for The Things Stack or ChirpStack) run inside QuickJS compiled to
 * WebAssembly (quickjs-emscripten, its synchronous release build), never by Node: a codec sees no `require`, no file,
 * no network and no host object, only the bytes it is given. Each run has a time limit (an interrupt handler), and each
 * codec's runtime a memory and a stack limit, so a codec that throws, loops or allocates without end is refused with
 * its reason; the gateway goes on. docs/devices.md ("The codec sandbox").
 *
 * One runtime and context per codec, compiled once and reused (a codec's functions keep no state between calls in
 * the bundled codecs). After any failure the context is thrown away and built afresh at the next use, so a codec left
 * half-way (interrupted, out of memory) never runs on in a broken state.
 */
import {
  type QuickJSContext,
  type QuickJSRuntime,
  type QuickJSWASMModule,
  getQuickJS,
  shouldInterruptAfterDeadline,
} from 'quickjs-emscripten';
import type { DevicePreset } from '../../../contracts/index.js';
import { source as draginoLht65 } from './codecs/dragino-lht65.js';
import { source as draginoLsn50 } from './codecs/dragino-lsn50.js';
import { source as milesightEm300Th } from './codecs/milesight-em300-th.js';
import { source as senseCapS210x } from './codecs/sensecap-s210x.js';

/**
 * The WebAssembly module: ~7 MB resident (17 MB reserved), so it is loaded at the first message that may need a codec
 * (a ChirpStack uplink: sources/index.ts `prepareDecoder`), never by a fleet of native stations. The decoders that use
 * it are synchronous: they run after `loadCodecRuntime()` has resolved.
 */
let QuickJS: QuickJSWASMModule | null = null;
let loading: Promise<void> | null = null;

export function loadCodecRuntime(): Promise<void> {
  loading ??= getQuickJS().then(
    (module) => {
      QuickJS = module;
    },
    (err: unknown) => {
      loading = null; // the next message tries again
      throw err;
    },
  );
  return loading;
}

function quickJs(): QuickJSWASMModule {
  if (QuickJS === null) throw new Error('the codec runtime is not loaded: await loadCodecRuntime() before decoding');
  return QuickJS;
}

export interface CodecLimits {
  /** Wall-clock time one decode may take. */
  timeoutMs: number;
  /** Wall-clock time compiling a codec may take (once per codec; the first run of the WebAssembly is slow). */
  compileTimeoutMs: number;
  /** Heap of one codec's runtime. */
  memoryBytes: number;
  /** Stack of one codec's runtime (deep recursion). */
  stackBytes: number;
  /** Largest decoded output accepted, as JSON. */
  maxOutputBytes: number;
}

export const DEFAULT_CODEC_LIMITS: CodecLimits = {
  timeoutMs: 50,
  compileTimeoutMs: 1_000,
  memoryBytes: 16 * 1024 * 1024,
  // QuickJS's frames live on Node's own stack (WebAssembly): 256 KiB stops a runaway recursion well before Node's
  // stack would overflow (measured: 512 KiB overflowed Node's first, and that aborts the WebAssembly module).
  stackBytes: 256 * 1024,
  maxOutputBytes: 64 * 1024,
};

/**
 * `decoded`: what the codec returned — `{data}` or `{errors}` from `decodeUplink`, the object itself from a TTN v2
 * `Decoder(bytes, port)`, null when it returned nothing. Otherwise why it failed: `timeout`, `memory` (heap or stack),
 * `threw`, `no_decoder` (neither function defined), `bad_output` (not JSON, or too large).
 */
export type CodecResult =
  { ok: true; decoded: unknown } | { ok: false; failure: 'timeout' | 'memory' | 'threw' | 'no_decoder' | 'bad_output'; message: string };

/** The vendor codecs bundled with frostwatch (MIT, from TheThingsNetwork/lorawan-devices), one per preset. */
const BUNDLED: Partial<Record<DevicePreset, string>> = {
  'dragino-lht65': draginoLht65,
  'dragino-lsn50': draginoLsn50,
  'milesight-em300-th': milesightEm300Th,
  'sensecap-s210x': senseCapS210x,
};

/** The bundled codec of a preset, or null (generic: the network server must decode). */
export function bundledCodec(preset: DevicePreset | null): string | null {
  return preset === null ? null : (BUNDLED[preset] ?? null);
}

interface Compiled {
  runtime: QuickJSRuntime;
  context: QuickJSContext;
}

/** Runs codecs under limits; keeps one compiled context per codec source. */
export class CodecSandbox {
  readonly #limits: CodecLimits;
  readonly #compiled = new Map<string, Compiled>();
  readonly #leaked = new WeakSet<Compiled>();

  constructor(limits: Partial<CodecLimits> = {}) {
    this.#limits = { ...DEFAULT_CODEC_LIMITS, ...limits };
  }

  /** Decodes `bytes` received on `fPort` with the codec `source`. Never throws. */
  decode(source: string, bytes: Uint8Array, fPort: number): CodecResult {
    let compiled = this.#compiled.get(source);
    if (compiled === undefined) {
      const made = this.#compile(source, Date.now() + this.#limits.compileTimeoutMs);
      if (!made.ok) return made;
      compiled = made.compiled;
    }
    const result = this.#call(compiled, bytes, fPort, Date.now() + this.#limits.timeoutMs);
    // A codec that failed may have left its globals half-way: the next use starts from a fresh context.
    if (!result.ok) this.#discard(source);
    return result;
  }

  /** Frees every compiled codec. */
  dispose(): void {
    for (const source of [...this.#compiled.keys()]) this.#discard(source);
  }

  #compile(source: string, deadline: number): { ok: true; compiled: Compiled } | Extract<CodecResult, { ok: false }> {
    const runtime = quickJs().newRuntime();
    runtime.setMemoryLimit(this.#limits.memoryBytes);
    runtime.setMaxStackSize(this.#limits.stackBytes);
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
    const context = runtime.newContext();
    const compiled = { runtime, context };
    const evaluated = guarded(() => context.evalCode(source, 'codec.js'));
    if ('failure' in evaluated) {
      this.#leak(compiled);
      return evaluated;
    }
    if (evaluated.error) {
      const failure = failureOf(context, evaluated.error, deadline);
      evaluated.error.dispose();
      free(compiled);
      return failure;
    }
    evaluated.value.dispose();
    this.#compiled.set(source, compiled);
    return { ok: true, compiled };
  }

  #call(compiled: Compiled, bytes: Uint8Array, fPort: number, deadline: number): CodecResult {
    const { runtime, context } = compiled;
    runtime.setInterruptHandler(shouldInterruptAfterDeadline(deadline));
    // The input is a JSON literal (numbers only), so nothing of the host reaches the codec. The answer leaves as JSON
    // text, made inside the sandbox under the same limits (a getter that loops is interrupted there too).
    const input = JSON.stringify({ bytes: [...bytes], fPort });
    const script = `(function (input) {
      var out;
      if (typeof decodeUplink === 'function') out = decodeUplink(input);
      else if (typeof Decoder === 'function') out = Decoder(input.bytes, input.fPort);
      else return '"__frostwatch_no_decoder__"';
      return out === undefined ? 'null' : JSON.stringify(out);
    })(${input})`;
    const evaluated = guarded(() => context.evalCode(script, 'call.js'));
    if ('failure' in evaluated) {
      this.#compiled.forEach((held, key) => {
        if (held === compiled) this.#compiled.delete(key);
      });
      this.#leak(compiled);
      return evaluated;
    }
    if (evaluated.error) {
      const failure = failureOf(context, evaluated.error, deadline);
      evaluated.error.dispose();
      return failure;
    }
    const text: unknown = context.typeof(evaluated.value) === 'string' ? context.getString(evaluated.value) : null;
    evaluated.value.dispose();
    if (typeof text !== 'string') return { ok: false, failure: 'bad_output', message: 'the codec returned something JSON cannot hold' };
    if (text === '"__frostwatch_no_decoder__"')
      return { ok: false, failure: 'no_decoder', message: 'the codec defines neither decodeUplink nor Decoder' };
    if (Buffer.byteLength(text, 'utf8') > this.#limits.maxOutputBytes)
      return { ok: false, failure: 'bad_output', message: `decoded output over ${this.#limits.maxOutputBytes} bytes` };
    return { ok: true, decoded: JSON.parse(text) as unknown };
  }

  /**
   * A runtime the host failed inside (Node's own stack overflowed in the WebAssembly) is not torn down: freeing it
   * could trip QuickJS's assertions, which abort the module every codec shares. It is dropped and never used again.
   */
  #leak(compiled: Compiled): void {
    this.#leaked.add(compiled);
  }

  #discard(source: string): void {
    const compiled = this.#compiled.get(source);
    if (compiled === undefined) return;
    this.#compiled.delete(source);
    free(compiled);
  }
}

/** evalCode, or the host's own failure (a RangeError of Node's stack) as a refusal. */
function guarded<T>(run: () => T): T | Extract<CodecResult, { ok: false }> {
  try {
    return run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, failure: 'memory', message: `codec failed in the host: ${message}` };
  }
}

function free({ runtime, context }: Compiled): void {
  try {
    context.dispose();
    runtime.dispose();
  } catch {
    // A runtime that ran out of memory may refuse to be torn down cleanly; its WebAssembly memory is the module's
    // own and nothing of the host is held, so it is left to the garbage collector.
  }
}

function failureOf(
  context: QuickJSContext,
  error: Parameters<QuickJSContext['dump']>[0],
  deadline: number,
): Extract<CodecResult, { ok: false }> {
  const dumped: unknown = context.dump(error);
  const message = describe(dumped);
  if (/interrupted/i.test(message) || Date.now() >= deadline)
    return { ok: false, failure: 'timeout', message: `codec ran past its time limit` };
  if (/out of memory|stack overflow/i.test(message))
    return { ok: false, failure: 'memory', message: `codec ran out of memory: ${message}` };
  return { ok: false, failure: 'threw', message: `codec threw: ${message}` };
}

function describe(dumped: unknown): string {
  if (typeof dumped === 'object' && dumped !== null) {
    const { name, message } = dumped as { name?: unknown; message?: unknown };
    if (typeof message === 'string') return typeof name === 'string' ? `${name}: ${message}` : message;
  }
  return String(dumped).slice(0, 200);
}

/** The one sandbox the gateway's decoders share. */
export const codecSandbox = new CodecSandbox();
