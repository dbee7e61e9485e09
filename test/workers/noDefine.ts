/** A module that forgets to call defineWorker. */
export const process = (task: unknown): unknown => task;
