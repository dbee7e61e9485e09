import { defineWorker } from 'looppool/worker';

/** The identity task of the memory benchmark: whatever the pool holds is the pool's own. */
export default defineWorker((record: { id: number; payload: string }) => record.id);
