import { defineWorker } from 'looppool/worker';

/** Emits a greeting from init and a note per task, besides each task's own result. */
export default defineWorker<string, string>({
  init(ctx) {
    ctx.emit(`ready ${ctx.index}`);
  },
  process(task, ctx) {
    ctx.emit(`note ${task}`);
    if (task === 'emit-function') ctx.emit((() => 0) as unknown as string);
    return `done ${task}`;
  },
});
