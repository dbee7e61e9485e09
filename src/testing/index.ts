export { inlineWorker, InlineWorker } from './inlineWorker';
