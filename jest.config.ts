/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/**
 * `marbles/`: virtual-time specs of the engine over the in-process transport, from `src/`.
 * `test/`: real threads through the built package (`dist/`), imported as `looppool`, the way
 * a user imports it; `npm test` builds first.
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/marbles', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleNameMapper: {
    '^looppool$': '<rootDir>/dist/index.js',
    '^looppool/(worker|testing|nats|prometheus|otel)$': '<rootDir>/dist/$1/index.js',
  },
  setupFilesAfterEnv: ['<rootDir>/test/support/noLeaks.ts'],
  testTimeout: 30_000,
};

export default config;
