import { threadResources, whenThreadsEnd } from './threads';

/** After every test, no worker thread or MessagePort may be left alive. */
afterEach(async () => {
  await whenThreadsEnd();
  expect(threadResources()).toEqual([]);
});
