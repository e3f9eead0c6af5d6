// Every task the api and the worker know. Add your own modules here: a task
// must be registered in both functions, so both import this file.
export * from './examples';
