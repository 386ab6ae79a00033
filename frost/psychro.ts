/**
 * Psychrometrics at station pressure. Formulas: WMO-No. 8 (CIMO Guide, 2018) Annex 4.B — Magnus form of the
 * saturation vapour pressure (over water 17.62/243.12, over ice 22.46/272.62) and the psychrometric formula
 * for an aspirated (Assmann) psychrometer. The enhancement factor f(p) ≈ 1.004 is left out: it changes
 * dew points by < 0.1 °C, below the sensors' accuracy.
 */

const E0_HPA = 6.112; // WMO-No. 8 Annex 4.B: saturation vapour pressure at 0 °C
const WATER = { k: 17.62, t: 243.12 }; // WMO Magnus over water, −45…60 °C
const ICE = { k: 22.46, t: 272.62 }; // WMO Magnus over ice, −65…0 °C

/**
 * Pressure at the station from its elevation: ICAO standard atmosphere (ISO 2533), 1013.25 hPa and 288.15 K at
 * sea level, lapse rate 6.5 K/km, exponent g·M/(R·L) = 5.25588. ≈ 846 hPa at 1,500 m.
 */
export function stationPressureHPa(elevationM: number): number {
  return 1013.25 * (1 - (0.0065 * elevationM) / 288.15) ** 5.25588;
}

export function saturationVapourPressureHPa(tC: number, over: 'water' | 'ice' = 'water'): number {
  const m = over === 'water' ? WATER : ICE;
  return E0_HPA * Math.exp((m.k * tC) / (m.t + tC));
}

/**
 * Relative humidity is defined over water even below 0 °C (WMO-No. 8 §4.1.2), so e = RH·e_w(T). Not clamped at
 * 100 %: quality control needs to see a dew point above the air; callers clamp plausible readings themselves.
 */
export function vapourPressureHPa(tC: number, rhPct: number): number {
  return (rhPct / 100) * saturationVapourPressureHPa(tC);
}

function invertMagnus(eHPa: number, m: { k: number; t: number }): number {
  const g = Math.log(eHPa / E0_HPA);
  return (m.t * g) / (m.k - g);
}

/** Dew point (WMO Magnus): γ = ln(RH/100) + 17.62·T/(243.12+T); Td = 243.12·γ/(17.62−γ). RH must be > 0. */
export function dewPointC(tC: number, rhPct: number): number {
  return invertMagnus(vapourPressureHPa(tC, rhPct), WATER);
}

/** Frost point: the temperature at which the same vapour pressure saturates over ice. */
export function frostPointC(tC: number, rhPct: number): number {
  return invertMagnus(vapourPressureHPa(tC, rhPct), ICE);
}

/**
 * Wet-bulb temperature from the WMO psychrometric formula, e = e_w(Tw) − A·p·(T − Tw) with
 * A = 6.53·10⁻⁴·(1 + 0.000944·Tw) K⁻¹ (WMO-No. 8 Annex 4.B, Assmann psychrometer, wet bulb covered with
 * water — also below 0 °C, as a supercooled wick). Solved by bisection: Tw lies between Td and T, and the
 * residual is monotonic there. The pressure matters: at 846 hPa (1,500 m) Tw is ~0.4 °C lower than at sea level.
 */
export function wetBulbC(tC: number, rhPct: number, pressureHPa: number): number {
  const e = vapourPressureHPa(tC, rhPct);
  const residual = (tw: number): number => saturationVapourPressureHPa(tw) - 6.53e-4 * (1 + 0.000944 * tw) * pressureHPa * (tC - tw) - e;
  let lo = dewPointC(tC, rhPct) - 1;
  let hi = tC;
  for (let i = 0; i < 60 && hi - lo > 1e-6; i += 1) {
    const mid = (lo + hi) / 2;
    if (residual(mid) > 0) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}
