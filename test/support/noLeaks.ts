import { childProcesses, threadResources, whenThreadsEnd } from './threads';

/** Child processes alive when the test started (a server a suite keeps for all its tests). */
let childrenBefore = 0;
beforeEach(() => {
  childrenBefore = childProcesses();
});

/** After every test, no worker thread or MessagePort may be left alive, nor a child process it started (a worker process). */
afterEach(async () => {
  await whenThreadsEnd(3_000, childrenBefore);
  expect(threadResources()).toEqual([]);
  // Fewer than before is fine: a child of an earlier suite in this jest worker may end meanwhile.
  expect({ childProcessesLeftAlive: Math.max(0, childProcesses() - childrenBefore) }).toEqual({ childProcessesLeftAlive: 0 });
});
