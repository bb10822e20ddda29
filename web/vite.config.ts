import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// The runtime's size, so the page can show how much of it has arrived (the server sends it
// compressed, and a browser reports only the bytes it has decoded).
const ortWasm = createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm');

export default defineConfig({
  base: '/h5/',
  define: {
    __ORT_WASM_BYTES__: JSON.stringify(statSync(ortWasm).size),
  },
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
