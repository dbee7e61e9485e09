import { defineWorker } from 'looppool/worker';
import { runStreamTask, type StreamTask } from './streamTasks';

export type { StreamTask } from './streamTasks';

export default defineWorker((task: StreamTask) => runStreamTask(task));
