import { describe, expect, it } from 'vitest';
import { maskPhone } from '../../contracts/index.js';
import { normalisePhone } from '../../server/registry/phone.js';

describe('normalisePhone', () => {
  it.each([
    ['0912 345 678', '+84912345678', 'mobile'],
    ['0912345678', '+84912345678', 'mobile'],
    ['+84 912 345 678', '+84912345678', 'mobile'],
    ['+84912345678', '+84912345678', 'mobile'],
    ['84912345678', '+84912345678', 'mobile'],
    ['0084 912 345 678', '+84912345678', 'mobile'],
    ['(+84) 91-234-5678', '+84912345678', 'mobile'],
    ['0912.345.678', '+84912345678', 'mobile'],
    ['  0869 123 456 ', '+84869123456', 'mobile'],
    ['0399 123 456', '+84399123456', 'mobile'],
    ['０９１２３４５６７８', '+84912345678', 'mobile'], // full-width digits from a phone keyboard
    ['0263 3822 123', '+842633822123', 'fixed'], // Lâm Đồng landline: a call reaches it, an SMS does not
    ['+33 6 12 34 56 78', '+33612345678', 'mobile'],
  ])('%j → %s (%s)', (input, e164, kind) => {
    expect(normalisePhone(input)).toMatchObject({ ok: true, e164, kind });
  });

  it.each([
    ['', /empty/],
    ['0123', /not a valid number/],
    ['01234567890', /not a valid number/], // the old 11-digit mobile prefixes were retired in 2018
    ['091234567', /not a valid number/], // one digit short
    ['09123456789', /not a valid number/], // one digit long
    ['abc', /characters other than digits/],
    ['0912 345 678 ext 5', /characters other than digits/],
    ['+1 555 0100', /not a valid number/],
  ])('refuses %j', (input, message) => {
    const result = normalisePhone(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('maskPhone', () => {
  it.each([
    ['+84912345678', '+8491•••5678'],
    ['+842633822123', '+8426•••2123'],
    ['+33612345678', '+3361•••5678'],
    ['0912345678', '0912•••5678'],
    ['12345', '•••'],
  ])('%s → %s', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });

  it('never keeps more than eight digits of a number', () => {
    for (const phone of ['+84912345678', '+842633822123', '+8491234567890']) {
      expect(maskPhone(phone).replace(/[^0-9]/g, '').length).toBeLessThanOrEqual(8);
      expect(maskPhone(phone)).not.toContain(phone.slice(1));
    }
  });
});
