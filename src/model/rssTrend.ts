// Pure: RSS history per process as the Workers view sees it every few seconds, so sibling pool
// children that look alike ("39.3 MB" each) are told apart by how their memory moves: the child
// where the leak runs grows, its sibling stays flat.

export interface RssTrend {
  /** RSS now minus RSS at the start of the window (bytes). */
  growth: number;
  /** Length of the window (ms). */
  spanMs: number;
}

/** Growth shown only when it is material: at least 1 MB and 2 % of the process's size. */
export const MATERIAL_BYTES = 1024 * 1024;
export const MATERIAL_SHARE = 0.02;

export class RssHistory {
  private readonly samples = new Map<number, { t: number[]; rss: number[] }>();

  /** @param windowMs how far back growth is measured (older samples are dropped). */
  constructor(private readonly windowMs = 10 * 60_000) {}

  /** Records one scan; processes no longer present are forgotten. */
  record(now: number, rows: Iterable<{ pid: number; rssBytes: number }>): void {
    const seen = new Set<number>();
    for (const r of rows) {
      seen.add(r.pid);
      let s = this.samples.get(r.pid);
      if (!s) { s = { t: [], rss: [] }; this.samples.set(r.pid, s); }
      s.t.push(now); s.rss.push(r.rssBytes);
      let drop = 0;
      while (drop < s.t.length - 2 && now - s.t[drop + 1] >= this.windowMs) drop++;
      if (drop) { s.t.splice(0, drop); s.rss.splice(0, drop); }
    }
    for (const pid of [...this.samples.keys()]) if (!seen.has(pid)) this.samples.delete(pid);
  }

  trend(pid: number): RssTrend | undefined {
    const s = this.samples.get(pid);
    if (!s || s.t.length < 2) return undefined;
    return { growth: s.rss[s.rss.length - 1] - s.rss[0], spanMs: s.t[s.t.length - 1] - s.t[0] };
  }
}

/** True when a trend is growth a user should look at (not page-level noise). */
export function isMaterial(t: RssTrend | undefined, rssBytes: number): boolean {
  return !!t && t.growth >= Math.max(MATERIAL_BYTES, rssBytes * MATERIAL_SHARE);
}

/** Among siblings, the one that grows most, when its growth is material; else undefined. */
export function fastestGrowing<T extends { pid: number; rssBytes: number }>(rows: T[], history: RssHistory): T | undefined {
  let best: T | undefined, bestGrowth = 0;
  for (const r of rows) {
    const t = history.trend(r.pid);
    if (isMaterial(t, r.rssBytes) && t!.growth > bestGrowth) { best = r; bestGrowth = t!.growth; }
  }
  return best;
}
