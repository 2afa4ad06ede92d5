import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// `cargo xtask bench ui` only: the grid benchmark (ui/bench), never part of the tests.
export default defineConfig({
  ...base,
  testDir: 'bench',
  testMatch: '*.bench.ts',
  timeout: 600_000,
});
