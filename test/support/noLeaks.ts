import { threadResources, whenThreadsEnd } from './threads';

/** After every test, no worker thread, MessagePort or child process may be left alive. */
afterEach(async () => {
  await whenThreadsEnd();
  expect(threadResources()).toEqual([]);
});
