// msgpackr loads its native extractor inside try/catch and falls back to pure JS when it
// throws; this stand-in always throws, so msgpackr runs its JS decoder everywhere.
throw new Error('msgpackr-extract is replaced by an empty package in wasmesh (pure-JS msgpackr)');
