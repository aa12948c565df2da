/** The one sodium-native function auditlog uses (the package ships no type declarations). */
declare module 'sodium-native' {
  /** Writes SHA-256(input) into `out`, which must be 32 bytes. */
  export function crypto_hash_sha256(out: Uint8Array, input: Uint8Array): void;
  const sodium: { crypto_hash_sha256: typeof crypto_hash_sha256 };
  export default sodium;
}
