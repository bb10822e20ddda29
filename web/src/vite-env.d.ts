/// <reference types="vite/client" />

/** Size of ONNX Runtime's WebAssembly in bytes (vite.config.ts). */
declare const __ORT_WASM_BYTES__: number;
