// ESM jest: run it with NODE_OPTIONS=--experimental-vm-modules (scripts/test.sh does).
export default {
  testEnvironment: 'node',
  // Most tests run real processes; on CI's 2 loaded cores one can take over
  // jest's 5 s default without anything being wrong. Speed is the benchmarks'.
  testTimeout: 30000,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  // Sources import './x.js' (NodeNext style); map that to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    // The tsconfig scripts/test.sh type-checks the tests with (isolatedModules:
    // ts-jest only transpiles them); ts-jest turns its noEmit off.
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
};
