import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { moduleBoundaries } from './eslint/module-boundaries.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'var/**', 'node_modules/**', 'coverage/**', 'bin/**', 'jest.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Only the config module may read the environment (STYLE habit 3).
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read config via platform/config' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    plugins: { warden: { rules: { 'module-boundaries': moduleBoundaries } } },
    rules: { 'warden/module-boundaries': 'error' },
  },
  { files: ['src/platform/config/**', 'test/**', 'bench/**'], rules: { 'no-restricted-properties': 'off' } },
  // Tests read loosely shaped JSON answers; asserting on them is the point.
  { files: ['test/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['**/*.js'],
    ignores: ['ui/**'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { process: 'readonly', module: 'writable', require: 'readonly', __dirname: 'readonly' },
    },
    // CommonJS scripts node runs as they are (test/guest's host-side helpers): require is how they import.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The review console: browser modules, no bundler.
  {
    files: ['ui/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        document: 'readonly',
        window: 'readonly',
        location: 'writable',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        FormData: 'readonly',
        URLSearchParams: 'readonly',
        Node: 'readonly',
        URL: 'readonly',
        Blob: 'readonly',
        atob: 'readonly',
        crypto: 'readonly',
        TextEncoder: 'readonly',
        setTimeout: 'readonly',
        HashChangeEvent: 'readonly',
      },
    },
  },
);
