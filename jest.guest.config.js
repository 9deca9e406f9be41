// The cgroup v2 guest tier (test/guest/): `npm run test:guest`, its own step in .ci/run after
// `npm test` (docs/cgroup-v2-guest.md).
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
