// The descriptor helper of host/server/listen-fds.ts: sends every handle it receives straight
// back over the IPC channel, so the parent receives it as a new descriptor. It accepts nothing.
process.on('message', (m, handle) => {
  process.send?.(m, handle as never);
});
process.on('disconnect', () => process.exit(0));
