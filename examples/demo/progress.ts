/**
 * The demo's progress display. On a terminal, a bar (cli-progress) with records done,
 * records/s, ETA and each worker's event-loop utilisation; elsewhere (CI, a pipe), a plain
 * line every few seconds, and one at the end.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** Records done so far. */
  update(done: number): void;
  /** Each worker's utilisation, as the latest `stats$` sample gave it (0 to 1; undefined before the first). */
  workers(elus: readonly (number | undefined)[]): void;
  /** Shows a short note beside the figures (on a terminal) or on a line of its own. */
  note(text: string): void;
  /** Draws the last state and leaves the display. */
  stop(): void;
}

const thousands = (n: number): string => Math.round(n).toLocaleString('en');
const percent = (elu: number | undefined): string => (elu === undefined ? '–' : `${Math.round(elu * 100)}%`);
const seconds = (s: number): string => (Number.isFinite(s) ? `${Math.max(0, s).toFixed(0)} s` : '–');

/** Starts showing the progress of `total` records through `label` ("2 workers", "main thread") on `stream`. */
export function showProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stdout, everyMs = 3_000): Progress {
  const started = performance.now();
  let done = 0;
  let utilisation = '';
  let remark = '';
  const rate = (): number => done / Math.max(1e-3, (performance.now() - started) / 1000);

  if (stream.isTTY) {
    const bar = new SingleBar({
      stream,
      format: `${label.padEnd(11)} [{bar}] {percentage}% | {value}/{total} | {rate} records/s | ETA {eta_formatted}{utilisation}{remark}`,
      formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? thousands(value) : String(value)),
      barsize: 20,
      hideCursor: true,
    });
    bar.start(total, 0, { rate: '0', utilisation, remark });
    const payload = () => ({ rate: thousands(rate()), utilisation, remark });
    return {
      update: (n) => bar.update((done = n), payload()),
      workers: (elus) => {
        utilisation = ` | busy ${elus.map(percent).join(' ')}`;
        bar.update(done, payload());
      },
      note: (text) => {
        remark = ` | ${text}`;
        bar.update(done, payload());
      },
      stop: () => {
        bar.update(done, payload());
        bar.stop();
      },
    };
  }

  const line = (): void => {
    const r = rate();
    const eta = done === total ? '' : `, ETA ${seconds((total - done) / r)}`;
    stream.write(`${label}: ${thousands(done)} of ${thousands(total)} records (${Math.floor((done / total) * 100)}%), ${thousands(r)} records/s${eta}${utilisation}\n`);
  };
  const timer = setInterval(line, everyMs);
  return {
    update: (n) => void (done = n),
    workers: (elus) => void (utilisation = `, workers busy ${elus.map(percent).join(' ')}`),
    note: (text) => void stream.write(`${label}: ${text}\n`),
    stop: () => {
      clearInterval(timer);
      line();
    },
  };
}
