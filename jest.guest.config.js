// The cgroup v2 guest tier (test/guest/): beside the in-band run in `npm test` (scripts/test.sh),
// or alone with `npm run test:guest` (docs/cgroup-v2-guest.md).
module.exports = {
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/utils/summary-reporter.js'],
  projects: [
    {
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      displayName: 'guest',
      testMatch: ['<rootDir>/test/guest/**/*.test.ts'],
    },
  ],
};
