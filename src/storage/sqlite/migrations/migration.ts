// One schema migration: its own file so the numbered migrations and the list in index.ts both
// import it without importing each other.
export type Migration = { version: number; name: string; sql: string };
