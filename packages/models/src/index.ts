// Public API of @proj/models.

// Compute backend
export { initBackend, type BackendChoice, type InitBackendOptions, type BackendInfo } from './backend/init-backend';
export { registerGradients, GRADIENT_KERNELS } from './backend/gradients';
export { registerWasmKernelFixes, setMatMulGradient, safeVariableGrads, type MatMulGradient } from './backend/wasm-kernels';
