// The operational log's shape (stderr in the CLI, a list in tests): one function every layer
// that reports something to the operator takes, declared once below them all.

export type LogLevel = 'info' | 'warn' | 'error';

/** One operational log line, without its newline or timestamp (the sink adds them). */
export type Log = (level: LogLevel, message: string) => void;
