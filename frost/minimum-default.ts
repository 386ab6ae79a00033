import type { MinimumModel } from './minimum-model.js';

/**
 * The default minimum model, written by scripts/fit-minimum-model.ts (`npm run fit:minimum`) — do not edit by hand.
 * Fitted by least squares on 2164 real nights (1104 frost, 1060 near misses) of 8 stations: DE_DWD03379_Muenchen-Stadt, DE_DWD00044_Grossenkneten, DE_DWD01266_Erfde, DE_DWD03987_Potsdam, DE_DWD05229_Villingen-Schwenningen, US_USCRN03048_Socorro-20-N, US_USCRN53131_Tucson-11-W, US_USCRN53136_Mercury-3-SSW.
 * Rows: one per reading from sunset to sunrise; buckets: hours since sunset (the last one: 9 h and more).
 * Its out-of-sample skill (each station predicted by a model fitted on the others) is in docs/frost-model.md.
 */
export const DEFAULT_MINIMUM_MODEL: MinimumModel = {
  withDew: [
    { coef: [-3.4929, 0.5266, -0.0828, 0.2457, -0.2223], sdC: 2.56, n: 2840 },
    { coef: [-3.7999, 0.7165, -0.1048, 0.1531, -0.1591], sdC: 2.43, n: 2837 },
    { coef: [-3.2469, 0.6471, -0.1209, 0.2061, -0.1226], sdC: 2.28, n: 2828 },
    { coef: [-2.8365, 0.5824, -0.1402, 0.1275, -0.102], sdC: 2.19, n: 2827 },
    { coef: [-2.2632, 0.364, -0.124, 0.0468, -0.1259], sdC: 2.06, n: 2839 },
    { coef: [-1.5851, 0.0354, -0.0872, 0.0508, -0.1608], sdC: 1.92, n: 2834 },
    { coef: [-1.1841, -0.18, -0.1197, -0.0526, -0.1171], sdC: 1.79, n: 2838 },
    { coef: [-0.9507, -0.3232, -0.1665, -0.1117, -0.057], sdC: 1.6, n: 2835 },
    { coef: [-0.6139, -0.6078, -0.1545, -0.2228, -0.0708], sdC: 1.45, n: 2830 },
    { coef: [-0.6391, -0.574, -0.2249, -0.7701, -0.0255], sdC: 1.16, n: 13029 },
  ],
  airOnly: [
    { coef: [-11.8552, 1.8618, 0.3009], sdC: 4.63, n: 2842 },
    { coef: [-11.3273, 2.7539, 0.6395], sdC: 3.81, n: 2838 },
    { coef: [-8.279, 2.1772, 0.8931], sdC: 3.36, n: 2829 },
    { coef: [-6.8169, 1.835, 0.8109], sdC: 3.13, n: 2828 },
    { coef: [-5.5661, 1.5151, 0.6989], sdC: 2.8, n: 2840 },
    { coef: [-4.2136, 1.0829, 0.6952], sdC: 2.49, n: 2835 },
    { coef: [-3.2049, 0.5916, 0.5023], sdC: 2.27, n: 2838 },
    { coef: [-2.2377, 0.0571, 0.4134], sdC: 1.96, n: 2835 },
    { coef: [-1.7035, -0.2643, 0.2384], sdC: 1.75, n: 2830 },
    { coef: [-0.8688, -1.0479, -0.3788], sdC: 1.28, n: 13029 },
  ],
  source: 'fitted on 2164 real nights of 8 stations',
};
