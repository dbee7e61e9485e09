import { get } from 'node:http';
import type { InspectStats } from '../metrics/inspect';
import { renderFrame, renderLine, sortKeys, type Reading, type SortKey } from './render';

/** Where `looppool top` reads a pool's figures from. */
export interface TopSource {
  /** What the header says it watches: the URL. */
  readonly label: string;
  /** The figures now. */
  read(): Promise<InspectStats>;
  /** Lets go of connections. */
  close(): Promise<void>;
}

/** A pool's `inspect` server: `GET <url>/stats`. */
export function httpSource(url: string): TopSource {
  const base = url.replace(/\/+$/, '');
  return {
    label: base,
    read: () =>
      new Promise<InspectStats>((resolve, reject) => {
        const request = get(`${base}/stats`, { timeout: 5_000 }, (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => {
            if (response.statusCode !== 200) return reject(new Error(`${base}/stats answered ${response.statusCode}: ${body.trim()}`));
            try {
              resolve(JSON.parse(body) as InspectStats);
            } catch (error) {
              reject(new Error(`${base}/stats did not answer JSON: is it a looppool pool's inspect server?`, { cause: error }));
            }
          });
        });
        request.on('timeout', () => request.destroy(new Error(`${base}/stats did not answer within 5 s`)));
        request.on('error', reject);
      }),
    close: async () => {},
  };
}

/**
 * Runs `looppool top` until `q` (or Ctrl-C, or SIGTERM): on a terminal, a full-screen view
 * redrawn every second; otherwise one plain line per second. A reading that fails is shown
 * (or printed) and the next second tries again.
 */
export async function top(source: TopSource, output: NodeJS.WriteStream = process.stdout, input: NodeJS.ReadStream = process.stdin): Promise<void> {
  const tty = Boolean(output.isTTY);
  let sort: SortKey = 'worker';
  let previous: InspectStats | undefined;
  let last: Reading | undefined;
  let failure: string | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));

  const draw = (): void => {
    if (!tty) return;
    const width = output.columns || 120;
    const lines = last ? renderFrame(last, source.label, sort, width) : [`looppool top - waiting for ${source.label}`];
    if (failure) lines.push('', `cannot read ${source.label}: ${failure}`.slice(0, width));
    output.write(`\x1b[H\x1b[2J${lines.join('\n')}\n`);
  };
  const tick = async (): Promise<void> => {
    try {
      const stats = await source.read();
      last = { stats, previous };
      previous = stats;
      failure = undefined;
      if (!tty) output.write(`${renderLine(last)}\n`);
    } catch (error) {
      failure = (error as Error).message;
      if (!tty) output.write(`${new Date().toISOString()} cannot read ${source.label}: ${failure}\n`);
    }
    draw();
  };
  const onKey = (key: Buffer): void => {
    const text = key.toString();
    if (text === 'q' || text === '\x03') return done();
    if (text === 's') {
      sort = sortKeys[(sortKeys.indexOf(sort) + 1) % sortKeys.length]!;
      draw();
    }
  };

  if (tty) output.write('\x1b[?1049h\x1b[?25l'); // the alternate screen, no cursor: as top does
  if (input.isTTY) {
    input.setRawMode(true);
    input.on('data', onKey);
    input.resume();
  }
  process.once('SIGINT', done);
  process.once('SIGTERM', done);
  let running = Promise.resolve();
  const timer = setInterval(() => (running = running.then(tick)), 1_000);
  running = tick();
  try {
    await finished;
  } finally {
    clearInterval(timer);
    process.off('SIGINT', done);
    process.off('SIGTERM', done);
    if (input.isTTY) {
      input.off('data', onKey);
      input.setRawMode(false);
      input.pause();
    }
    if (tty) output.write('\x1b[?25h\x1b[?1049l');
    await running.catch(() => {});
    await source.close();
  }
}
