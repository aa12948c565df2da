// The few WebAssembly globals src/merkle/sha256x4.ts uses (the project's `lib` has no DOM,
// where TypeScript declares them). Node has provided all of them since v8.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
