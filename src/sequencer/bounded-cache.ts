/**
 * A bounded map that evicts the oldest insertion first. Hits do not reorder (that costs a
 * delete and an insert per lookup on the proof path); the hottest tiles, the right edge, are
 * not in the cache at all. Nothing in the log grows without bound.
 */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  get size(): number {
    return this.map.size;
  }
}
