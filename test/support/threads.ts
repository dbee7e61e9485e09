/** Resources that a live worker thread keeps open in this process. */
export const threadResources = (): string[] =>
  process.getActiveResourcesInfo().filter((resource) => resource === 'MessagePort' || resource === 'Worker');

/** Child processes of this process that are alive: worker processes, and those a test started itself. */
export const childProcesses = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'ProcessWrap').length;

/**
 * Waits (up to `ms`) until no worker thread of this process is alive, and no more child
 * processes than `children` (those that outlive a test on purpose, a statsd server's).
 * Termination is asynchronous.
 */
export async function whenThreadsEnd(ms = 3_000, children = 0): Promise<void> {
  const deadline = Date.now() + ms;
  while ((threadResources().length > 0 || childProcesses() > children) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
