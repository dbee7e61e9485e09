/** Does nothing: the handler for a rejection that is reported elsewhere, or a callback nobody needs. */
export function noop(): void {}
