import { describe, expect, it } from 'vitest';
import { rulesFor } from '../../frost/rules.js';

describe('the low-battery rule follows the device', () => {
  it("frostwatch's own Li-ion stations keep 3.4 V; Dragino's Li-SOCl₂ cells their own bands; Shelly's AA cells theirs", () => {
    expect(rulesFor('arabica')).toMatchObject({ lowBatteryV: 3.4, batteryClearV: 3.6 });
    expect(rulesFor('arabica', {}, { source: 'native' })).toMatchObject({ lowBatteryV: 3.4 });
    expect(rulesFor('arabica', {}, { source: 'chirpstack', preset: 'dragino-lht65' })).toMatchObject({
      lowBatteryV: 2.55,
      batteryClearV: 2.65,
    });
    expect(rulesFor('arabica', {}, { source: 'ttn', preset: 'dragino-lsn50' })).toMatchObject({ lowBatteryV: 2.55 });
    expect(rulesFor('arabica', {}, { source: 'shelly' })).toMatchObject({ lowBatteryV: 4.4, batteryClearV: 4.8 });
  });

  it('raises nothing from a voltage it cannot interpret, and a station override still wins', () => {
    expect(rulesFor('arabica', {}, { source: 'tasmota' })).toMatchObject({ lowBatteryV: 0 });
    expect(rulesFor('arabica', {}, { source: 'chirpstack', preset: 'milesight-em300-th' })).toMatchObject({ lowBatteryV: 0 });
    expect(rulesFor('arabica', { lowBatteryV: 3.1 }, { source: 'chirpstack', preset: 'dragino-lht65' })).toMatchObject({
      lowBatteryV: 3.1,
    });
  });
});
