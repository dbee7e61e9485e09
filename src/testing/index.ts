/**
 * For tests: {@link inlineWorker} runs a worker definition in the calling thread, so that a
 * pipeline containing `loopPool` runs in a `TestScheduler`'s virtual time.
 *
 * @module looppool/testing
 */
export { inlineWorker, InlineWorker } from './inlineWorker';
