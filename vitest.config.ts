import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    // Integration tests start real influxd / mosquitto / aedes processes; give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run test files in parallel, but not so many that influxd instances starve.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
