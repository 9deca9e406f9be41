// One test command runs everything: `npm test`. Projects split the tiers so a developer can
// run only the fast pure ones (`npx jest --selectProjects unit`).
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
const common = {
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  // Integration tests start real servers and processes; a hang should fail, not stall CI.
  testTimeout: 120000,
  // One process runs every file (--runInBand): a Warden a test closes with its Redis stopped
  // (test/privileged/fail-closed-start) leaves reconnecting clients that would keep the run
  // alive after the last test; exit once the global teardown is done.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/utils/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    // The lifecycle through fakes (shim, syscalls, cgroupfs) on real PostgreSQL and Redis: no root,
    // seconds (`npx jest --selectProjects fast`).
    {
      ...common,
      displayName: 'fast',
      testMatch: ['<rootDir>/test/fast/**/*.test.ts'],
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
      globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/test/integration/**/*.test.ts',
        '<rootDir>/test/privileged/**/*.test.ts',
        '<rootDir>/test/e2e/**/*.test.ts',
      ],
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
      globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
    },
  ],
};
// cgroup v2 on a real kernel (test/guest/, one QEMU guest under TCG) runs apart, with
// jest.guest.config.js, beside this run in `npm test` (scripts/test.sh) or alone with
// `npm run test:guest` (docs/cgroup-v2-guest.md).
