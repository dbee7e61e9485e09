/** Resources that a live worker (a thread, or a child process and its pipes) keeps open in this process. */
export const threadResources = (): string[] =>
  process.getActiveResourcesInfo().filter((resource) => resource === 'MessagePort' || resource === 'Worker' || resource === 'ProcessWrap');

/** Waits (up to `ms`) until no worker thread or process of this process is alive. Termination is asynchronous. */
export async function whenThreadsEnd(ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (threadResources().length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
