/**
 * Looppool's first example, ported: a worker that fetches URLs on its own event loop and
 * answers `[url, server header]`.
 */
import { defineWorker } from 'looppool/worker';

export default defineWorker(async (url: string, ctx): Promise<[string, string | null]> => {
  const response = await fetch(url, { signal: ctx.signal });
  await response.body?.cancel(); // only the headers are wanted
  return [url, response.headers.get('server')];
});
