// ESM jest: run it with NODE_OPTIONS=--experimental-vm-modules (scripts/test.sh does).
export default {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  // Sources import './x.js' (NodeNext style); map that to the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    // On top of tsconfig.json: tests live outside src/ and use jest's globals.
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { rootDir: '.', types: ['node', 'jest'] } }],
  },
};
