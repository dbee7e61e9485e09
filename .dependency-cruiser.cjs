/**
 * The import rules of src/, checked by `npm run check:deps` (part of `npm test`). Type-only
 * imports count: a circle of types is still two files that cannot be read one without the other.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import circle in src/: each file can be read knowing only what it imports.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'transport-floor',
      severity: 'error',
      comment:
        'Transports (src/transport, src/nats) are the floor below the pool: they import nothing from the worker side, ' +
        'the host or the pool. Wire types both sides share go in a module both import.',
      from: { path: '^src/(transport|nats)/' },
      to: { path: '^src/(worker/|host/|(pool|createPool|loopPool|poolApi)[.]ts$)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
