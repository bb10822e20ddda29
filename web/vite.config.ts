import { defineConfig } from 'vitest/config';

export default defineConfig({
  base: '/h5/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    target: 'es2020',
    // The ONNX Runtime wasm is ~14 MB raw (3.7 MB gzipped); it is fetched, not inlined.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
    modulePreload: { polyfill: false },
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
