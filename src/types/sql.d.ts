// SQL files imported `with { type: 'text' }` are their text (src/storage/sqlite/migrations/index.ts).
declare module '*.sql' {
  const text: string;
  export default text;
}
