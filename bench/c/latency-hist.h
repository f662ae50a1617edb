/*
 * Latency histogram for iscsi-bench: log2 major buckets, each split into 32
 * linear sub-buckets, in nanoseconds (about 3 % resolution, fixed memory),
 * so percentiles need no per-sample storage.
 */
#ifndef TSGT_BENCH_LATENCY_HIST_H
#define TSGT_BENCH_LATENCY_HIST_H

#include <stdint.h>

#define SUB_BITS 5
#define SUB (1u << SUB_BITS)
#define MAJOR 40
#define NBUCKETS (MAJOR * SUB)

struct hist {
	uint64_t count[NBUCKETS];
	uint64_t n;
	double sum_ns;
	uint64_t max_ns;
};

static unsigned bucket_of(uint64_t ns)
{
	if (ns < SUB)
		return (unsigned)ns;
	unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
	unsigned major = msb - SUB_BITS + 1;
	unsigned sub = (unsigned)(ns >> (msb - SUB_BITS)) & (SUB - 1);
	unsigned b = major * SUB + sub;
	return b < NBUCKETS ? b : NBUCKETS - 1;
}

/* Upper edge of a bucket, so percentiles never under-report. */
static uint64_t bucket_hi(unsigned b)
{
	unsigned major = b / SUB, sub = b % SUB;
	if (major == 0)
		return sub;
	unsigned shift = major - 1;
	return ((uint64_t)(SUB + sub + 1) << shift) - 1;
}

static void hist_add(struct hist *h, uint64_t ns)
{
	h->count[bucket_of(ns)]++;
	h->n++;
	h->sum_ns += (double)ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

static double hist_pct_us(const struct hist *h, double p)
{
	if (h->n == 0)
		return 0;
	uint64_t want = (uint64_t)(p * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		seen += h->count[b];
		if (seen > want) {
			uint64_t hi = bucket_hi(b);
			if (hi > h->max_ns)
				hi = h->max_ns;
			return (double)hi / 1000.0;
		}
	}
	return (double)h->max_ns / 1000.0;
}

#endif
