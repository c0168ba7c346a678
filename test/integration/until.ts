// Shared by the extension-host suites: polls `fn` until it returns something truthy.
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30000): Promise<NonNullable<T>> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}
