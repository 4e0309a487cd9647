// The part of madge's API that scripts/cycles.ts uses (madge ships no types).
declare module 'madge' {
  type MadgeResult = {
    /** Each file (relative to the base dir) with the files it imports. */
    obj(): Record<string, string[]>;
    circular(): string[][];
    warnings(): { skipped: string[] };
  };
  export default function madge(
    path: string,
    config: {
      fileExtensions?: string[];
      tsConfig?: string;
      detectiveOptions?: Record<string, Record<string, unknown>>;
    },
  ): Promise<MadgeResult>;
}
