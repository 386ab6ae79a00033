import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DevicePreset } from '../../contracts/index.js';
import { CodecSandbox, bundledCodec, codecSandbox, loadCodecRuntime } from '../../gateway/sources/lorawan/codec-sandbox.js';

// The gateway loads the WebAssembly runtime at the first ChirpStack uplink (sources/index.ts prepareDecoder); here, once.
beforeAll(() => loadCodecRuntime());

const DIR = join(import.meta.dirname, '../fixtures/devices/lorawan-codecs');

/** Which bundled codec produced a fixture's `decoded` (its `decoder` field names the copied codec file). */
const PRESET_OF: Record<string, DevicePreset> = {
  'lorawan-codecs/dragino-lht65.js.txt': 'dragino-lht65',
  'lorawan-codecs/dragino-lsn50v2.js.txt': 'dragino-lsn50',
  'lorawan-codecs/milesight-em300-th.js.txt': 'milesight-em300-th',
  'lorawan-codecs/sensecap-s210x.js.txt': 'sensecap-s210x',
};

interface CodecFixture {
  fPort: number;
  bytesHex: string;
  decoded: unknown;
  decoder: string;
}

const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, fixture: JSON.parse(readFileSync(join(DIR, file), 'utf8')) as CodecFixture }))
  .flatMap(({ file, fixture }) => {
    const key = Object.keys(PRESET_OF).find((k) => fixture.decoder.includes(k));
    if (key === undefined) return [];
    // The status-prefix edge case records both decoders' answers; ours is the TTN repository's.
    const decoded =
      typeof fixture.decoded === 'object' && fixture.decoded !== null && 'ttn_repo_codec' in fixture.decoded
        ? fixture.decoded.ttn_repo_codec
        : fixture.decoded;
    return [{ file, preset: PRESET_OF[key]!, fixture, decoded }];
  });

describe('bundled vendor codecs in the sandbox', () => {
  it('covers a fixture of every bundled codec', () => {
    expect(new Set(fixtures.map((f) => f.preset))).toEqual(new Set(Object.values(PRESET_OF)));
    expect(bundledCodec('generic')).toBeNull();
  });

  it.each(fixtures.map((f) => [f.file, f] as const))('%s decodes to its recorded output', (_file, { preset, fixture, decoded }) => {
    const source = bundledCodec(preset);
    if (source === null) throw new Error(`no codec for ${preset}`);
    const result = codecSandbox.decode(source, Buffer.from(fixture.bytesHex, 'hex'), fixture.fPort);
    expect(result).toEqual({ ok: true, decoded });
  });

  it('decodes the same codec again from its cached context', () => {
    const source = bundledCodec('dragino-lht65')!;
    const bytes = Buffer.from('CBF6FF06037601FEC67FFF', 'hex');
    const first = codecSandbox.decode(source, bytes, 2);
    for (let i = 0; i < 50; i++) expect(codecSandbox.decode(source, bytes, 2)).toEqual(first);
  });
});

describe('a hostile or broken codec', () => {
  const sandbox = new CodecSandbox({ timeoutMs: 50, memoryBytes: 16 * 1024 * 1024 });
  const bytes = Uint8Array.of(1, 2, 3);

  it('that loops is interrupted within its time limit', () => {
    const started = Date.now();
    const result = sandbox.decode('function decodeUplink(input) { for (;;) {} }', bytes, 1);
    expect(result).toMatchObject({ ok: false, failure: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('that loops while being compiled is interrupted too', () => {
    expect(sandbox.decode('while (true) {}', bytes, 1)).toMatchObject({ ok: false, failure: 'timeout' });
  });

  it('that allocates without end runs out of memory', () => {
    const started = Date.now();
    const result = sandbox.decode(
      'function decodeUplink(input) { var a = []; for (var i = 0; i < 1e9; i++) a.push(new Array(1000).fill(i)); return {data: a}; }',
      bytes,
      1,
    );
    expect(result.ok).toBe(false);
    expect(['memory', 'timeout']).toContain((result as { failure: string }).failure);
    expect(Date.now() - started).toBeLessThan(2_000);
    const huge = sandbox.decode("function decodeUplink(input) { return {data: {s: 'x'.repeat(1 << 26)}}; }", bytes, 1);
    expect(huge).toMatchObject({ ok: false, failure: 'memory' });
  });

  it('that recurses without end overflows its stack', () => {
    expect(sandbox.decode('function f(n) { return f(n + 1) + 1; } function decodeUplink(input) { return f(0); }', bytes, 1)).toMatchObject({
      ok: false,
      failure: 'memory',
    });
  });

  it('that throws is refused with its message', () => {
    const result = sandbox.decode("function decodeUplink(input) { throw new TypeError('cannot read property 6'); }", bytes, 1);
    expect(result).toMatchObject({ ok: false, failure: 'threw' });
    expect((result as { message: string }).message).toContain('cannot read property 6');
  });

  it('that defines no decoder, or returns nothing, says so', () => {
    expect(sandbox.decode('var x = 1;', bytes, 1)).toMatchObject({ ok: false, failure: 'no_decoder' });
    expect(sandbox.decode('function decodeUplink(input) {}', bytes, 1)).toEqual({ ok: true, decoded: null });
  });

  it('sees no host: no require, process or globalThis of Node', () => {
    const result = sandbox.decode(
      'function decodeUplink(input) { return {data: [typeof require, typeof process, typeof globalThis.fetch, input.bytes.length, input.fPort]}; }',
      bytes,
      7,
    );
    expect(result).toEqual({ ok: true, decoded: { data: ['undefined', 'undefined', 'undefined', 3, 7] } });
  });

  it('a TTN v2 Decoder(bytes, port) is called too, and the sandbox works on after every failure', () => {
    expect(sandbox.decode('function Decoder(bytes, port) { return {sum: bytes[0] + bytes[2], port: port}; }', bytes, 9)).toEqual({
      ok: true,
      decoded: { sum: 4, port: 9 },
    });
    expect(codecSandbox.decode(bundledCodec('milesight-em300-th')!, Buffer.from('0175320367C80004683C', 'hex'), 1)).toEqual({
      ok: true,
      decoded: { data: { battery: 50, temperature: 20, humidity: 30 } },
    });
  });
});
