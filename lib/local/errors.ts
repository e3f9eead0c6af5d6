/**
 * Something a newcomer can hit when starting the local stack: printed as one
 * line with its cause and its fix, never as a stack trace.
 */
export class LocalStartupError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(`${problem}: ${fix}`, options);
    this.name = 'LocalStartupError';
  }
}

/** Turns what a listening server throws into a cause and a fix. */
export function listenError(what: string, port: number, envName: string, error: unknown): LocalStartupError {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    return new LocalStartupError(
      `Port ${port} (${what}) is already in use`,
      `stop the other process (lsof -i :${port}) or choose another port, e.g. ${envName}=${port + 1} npm start`,
      { cause: error },
    );
  }
  if (code === 'EACCES') {
    return new LocalStartupError(`Not allowed to listen on port ${port} (${what})`, `choose a port above 1024 with ${envName}=<port>`, { cause: error });
  }
  return new LocalStartupError(`${what} could not start on port ${port}`, `check ${envName}; the error was: ${(error as Error).message}`, { cause: error });
}
