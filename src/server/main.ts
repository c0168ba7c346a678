// PLACEHOLDER until the race-analysis issue lands: replaced by the language server.
export {};
