// Kept equal to package.json "version" (checked by a unit test); the agent reports its own.
export const VERSION = '0.1.0';
