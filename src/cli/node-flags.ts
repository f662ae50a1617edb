// V8 flags `tsgt serve` runs with: in the shebang of src/cli/main.ts, in
// `npm start`, and in the benchmark (test/cli/node-flags.test.ts keeps the
// three in step). Embedders of startTarget should start node with them too.
//
// --max-semi-space-size=64 (MB; V8's default tops out at 16): a 4 KiB READ
// at queue depth 32 allocates ~3.4 KB of short-lived objects, so with 16 MB
// semi-spaces V8 scavenged ~25 times a second and every pause held up all 32
// commands in flight. Measured (4 KiB random read QD32, interleaved): p99
// latency 2.36-2.75 ms → 0.48-0.59 ms (32 MB: 1.57 ms), IOPS unchanged or
// up; peak RSS 127 → 213 MB.
export const SERVE_NODE_FLAGS: readonly string[] = Object.freeze(['--max-semi-space-size=64']);
