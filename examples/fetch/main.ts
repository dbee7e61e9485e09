/**
 * Puts URLs on a pool of 4 fetching workers and prints each `[url, server]` as it arrives;
 * then stops the pool gracefully. URLs come from the command line, or the original list.
 *
 *   npx tsx examples/fetch/main.ts http://127.0.0.1:8080/ ...
 */
import { join } from 'node:path';
import { createPool } from 'looppool';

const urls = process.argv.slice(2);
if (urls.length === 0) {
  urls.push('https://python.org/', 'http://tornadoweb.org/', 'https://google.com/', 'https://stackoverflow.com/');
}

async function main(): Promise<void> {
  const pool = createPool<string, [string, string | null]>(join(__dirname, 'fetch.worker.ts'), 4);
  pool.results$.subscribe((result) => console.log(JSON.stringify(result)));
  pool.errors$.subscribe((error) => console.error(error.message));
  urls.forEach((url) => void pool.put(url).catch(() => {})); // failures are printed from errors$
  await pool.stop();
}

void main();
