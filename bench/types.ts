/**
 * The shape every benchmark in bench/ follows, so `npm run bench` can run them side by side and write one table.
 * Speed is measured here, never in tests (README "Standards").
 */
export interface BenchOptions {
  /** Smaller counts and durations, for a quick look (a minute or two in all). */
  quick: boolean;
  /** One line of progress; the runner redraws it in place. */
  progress: (line: string) => void;
}

export interface BenchRow {
  /** Which measurement of issue 5 (1–7). */
  group: number;
  name: string;
  value: number;
  unit: string;
  /** The goal or the peer it is compared with, and the ratio, when there is one. */
  goal?: string;
  ratio?: number;
  note?: string;
}

export interface Bench {
  id: string;
  title: string;
  run(options: BenchOptions): Promise<BenchRow[]>;
}
