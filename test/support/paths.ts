import { join } from 'node:path';

/** Absolute path of a worker fixture in test/workers. */
export const workerPath = (name: string): string => join(__dirname, '..', 'workers', name);
