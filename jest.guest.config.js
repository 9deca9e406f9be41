// The cgroup v2 guest tier (test/guest/): `npm run test:guest`. Apart from `npm test` until a
// whole run fits CI's time on this host (docs/cgroup-v2-guest.md).
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
