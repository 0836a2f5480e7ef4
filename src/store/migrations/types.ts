export interface Migration {
  /** Applied in ascending order; gap-free starting at 1. */
  version: number;
  name: string;
  sql: string;
}
