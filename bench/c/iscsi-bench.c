/*
 * iscsi-bench: one block workload against one iSCSI LUN on libiscsi's
 * asynchronous API, several sessions driven from one poll() loop.
 *
 *   iscsi-bench --url iscsi://127.0.0.1:3260/iqn.x:y/1 --rw read --pattern rand
 *               --bs 4096 --qd 32 --sessions 1 --duration 3 --warmup 1
 *
 * Prints one JSON line on stdout (errors and diagnostics go to stderr).
 * Exit status: 0 ok, 1 bad usage / connect failure, 2 stall or I/O errors.
 *
 * Login keys: libiscsi 1.19 has no public setter for MaxRecvDataSegmentLength,
 * FirstBurstLength or MaxBurstLength; it always offers 262144 for all three,
 * ImmediateData=Yes and InitialR2T=No. Those offers are the same for every
 * target, so the negotiated values depend only on what each target offers.
 * HeaderDigest is forced to None here (libiscsi's default offer is
 * "None,CRC32C", which leaves the choice to the target).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

/* ---------- latency histogram: log2 major buckets x 32 linear sub-buckets (ns) ---------- */

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

/* ---------- workload state ---------- */

enum phase { WARMUP, MEASURE, DRAIN };

struct bench;

struct slot {
	struct session *s;
	unsigned char *buf;
	/* libiscsi keeps a pointer to the iovec until the task completes. */
	struct scsi_iovec iov;
	uint64_t t_submit;
	int busy;
};

struct session {
	struct bench *b;
	struct iscsi_context *iscsi;
	struct slot *slots;
	int inflight;
	int dead;
	uint64_t rng;
	uint64_t seq_next; /* next sequential block (in units of bs) */
	uint64_t seq_lo, seq_hi; /* this session's sequential region [lo, hi) */
};

struct bench {
	int lun;
	int is_write;
	int is_rand;
	uint32_t bs;
	uint32_t block_len;
	uint64_t nblocks_io; /* LUN size in units of bs */
	int qd;
	int nsess;
	struct session *sess;
	enum phase phase;
	struct hist h;
	uint64_t ios, bytes, errors;
	uint64_t last_progress;
	char first_error[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Phase markers let the caller sample the target's CPU time at the window edges. */
static void mark(const char *what)
{
	printf("%s\n", what);
	fflush(stdout);
}

static void note_error(struct bench *b, const char *fmt, const char *detail)
{
	b->errors++;
	if (!b->first_error[0])
		snprintf(b->first_error, sizeof b->first_error, fmt, detail ? detail : "");
}

static int submit(struct slot *sl);

static void on_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct slot *sl = private_data;
	struct session *s = sl->s;
	struct bench *b = s->b;
	struct scsi_task *task = command_data;
	uint64_t t = now_ns();
	(void)iscsi;

	sl->busy = 0;
	s->inflight--;
	b->last_progress = t;
	if (status == SCSI_STATUS_GOOD) {
		if (b->phase == MEASURE) {
			hist_add(&b->h, t - sl->t_submit);
			b->ios++;
			b->bytes += b->bs;
		}
	} else if (status == SCSI_STATUS_CHECK_CONDITION && task) {
		char d[96];
		snprintf(d, sizeof d, "sense key %d asc/ascq 0x%04x", (int)task->sense.key, (unsigned)task->sense.ascq);
		note_error(b, "CHECK CONDITION: %s", d);
	} else {
		note_error(b, "command failed: %s", iscsi_get_error(s->iscsi));
	}
	if (task)
		scsi_free_scsi_task(task);
	if (b->phase != DRAIN && !s->dead)
		submit(sl);
}

static uint64_t next_lba(struct session *s)
{
	struct bench *b = s->b;
	uint64_t unit;
	if (b->is_rand) {
		unit = xorshift(&s->rng) % b->nblocks_io;
	} else {
		unit = s->seq_next++;
		if (s->seq_next >= s->seq_hi)
			s->seq_next = s->seq_lo;
	}
	return unit * (b->bs / b->block_len);
}

static int submit(struct slot *sl)
{
	struct session *s = sl->s;
	struct bench *b = s->b;
	uint64_t lba = next_lba(s);
	struct scsi_task *task;

	sl->iov.iov_base = sl->buf;
	sl->iov.iov_len = b->bs;
	sl->t_submit = now_ns();
	if (b->is_write)
		task = iscsi_write16_iov_task(s->iscsi, b->lun, lba, NULL, b->bs, (int)b->block_len,
					      0, 0, 0, 0, 0, on_done, sl, &sl->iov, 1);
	else
		task = iscsi_read16_iov_task(s->iscsi, b->lun, lba, b->bs, (int)b->block_len,
					     0, 0, 0, 0, 0, on_done, sl, &sl->iov, 1);
	if (task == NULL) {
		note_error(b, "submit failed: %s", iscsi_get_error(s->iscsi));
		s->dead = 1;
		return -1;
	}
	sl->busy = 1;
	s->inflight++;
	return 0;
}

/* ---------- setup ---------- */

static struct iscsi_context *open_session(const char *url_str, int idx, int *lun_out)
{
	char iname[128];
	snprintf(iname, sizeof iname, "iqn.2025-01.org.tsgt.bench:client-%d-%d", (int)getpid(), idx);
	struct iscsi_context *iscsi = iscsi_create_context(iname);
	if (!iscsi) {
		fprintf(stderr, "iscsi-bench: iscsi_create_context failed\n");
		return NULL;
	}
	struct iscsi_url *url = iscsi_parse_full_url(iscsi, url_str);
	if (!url) {
		fprintf(stderr, "iscsi-bench: bad URL %s: %s\n", url_str, iscsi_get_error(iscsi));
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE);
	/* A benchmark must fail loudly, not hide a target drop behind a reconnect. */
	iscsi_set_noautoreconnect(iscsi, 1);
	*lun_out = url->lun;
	if (iscsi_full_connect_sync(iscsi, url->portal, url->lun) != 0) {
		fprintf(stderr, "iscsi-bench: login to %s failed: %s\n", url_str, iscsi_get_error(iscsi));
		iscsi_destroy_url(url);
		iscsi_destroy_context(iscsi);
		return NULL;
	}
	iscsi_destroy_url(url);
	return iscsi;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: iscsi-bench --url iscsi://host:port/iqn/lun [--rw read|write] [--pattern rand|seq]\n"
		"                   [--bs BYTES] [--qd N] [--sessions N] [--duration SEC] [--warmup SEC]\n"
		"                   [--seed N] [--stall SEC]\n");
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	struct bench b;
	double duration = 3, warmup = 1, stall_s = 10;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	memset(&b, 0, sizeof b);
	b.is_rand = 1;
	b.bs = 4096;
	b.qd = 1;
	b.nsess = 1;

	static const struct option opts[] = {
		{ "url", required_argument, 0, 'u' },	   { "rw", required_argument, 0, 'r' },
		{ "pattern", required_argument, 0, 'p' },  { "bs", required_argument, 0, 'b' },
		{ "qd", required_argument, 0, 'q' },	   { "sessions", required_argument, 0, 's' },
		{ "duration", required_argument, 0, 'd' }, { "warmup", required_argument, 0, 'w' },
		{ "seed", required_argument, 0, 'S' },	   { "stall", required_argument, 0, 'T' },
		{ "help", no_argument, 0, 'h' },	   { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'r': b.is_write = strcmp(optarg, "write") == 0; break;
		case 'p': b.is_rand = strcmp(optarg, "seq") != 0; break;
		case 'b': b.bs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'q': b.qd = atoi(optarg); break;
		case 's': b.nsess = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0) | 1; break;
		case 'T': stall_s = atof(optarg); break;
		default: usage(); return 1;
		}
	}
	if (!url || b.bs == 0 || b.qd < 1 || b.nsess < 1 || duration <= 0 || warmup < 0) {
		usage();
		return 1;
	}

	b.sess = calloc((size_t)b.nsess, sizeof *b.sess);
	for (int i = 0; i < b.nsess; i++) {
		struct session *s = &b.sess[i];
		s->b = &b;
		s->iscsi = open_session(url, i, &b.lun);
		if (!s->iscsi)
			return 1;
		s->rng = seed + 0x632be59bd9b4e019ull * (uint64_t)(i + 1);
	}

	/* Geometry from READ CAPACITY(16) on the first session. */
	struct scsi_task *rc = iscsi_readcapacity16_sync(b.sess[0].iscsi, b.lun);
	if (!rc || rc->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "iscsi-bench: READ CAPACITY(16) failed: %s\n", iscsi_get_error(b.sess[0].iscsi));
		return 1;
	}
	struct scsi_readcapacity16 *cap = scsi_datain_unmarshall(rc);
	if (!cap) {
		fprintf(stderr, "iscsi-bench: cannot parse READ CAPACITY(16) data\n");
		return 1;
	}
	b.block_len = cap->block_length;
	uint64_t lun_bytes = (cap->returned_lba + 1) * (uint64_t)cap->block_length;
	scsi_free_scsi_task(rc);
	if (b.block_len == 0 || b.bs % b.block_len != 0) {
		fprintf(stderr, "iscsi-bench: bs %u is not a multiple of the block length %u\n", b.bs, b.block_len);
		return 1;
	}
	b.nblocks_io = lun_bytes / b.bs;
	if (b.nblocks_io < (uint64_t)b.nsess) {
		fprintf(stderr, "iscsi-bench: LUN too small\n");
		return 1;
	}

	for (int i = 0; i < b.nsess; i++) {
		struct session *s = &b.sess[i];
		uint64_t per = b.nblocks_io / (uint64_t)b.nsess;
		s->seq_lo = per * (uint64_t)i;
		s->seq_hi = s->seq_lo + per;
		s->seq_next = s->seq_lo;
		s->slots = calloc((size_t)b.qd, sizeof *s->slots);
		for (int j = 0; j < b.qd; j++) {
			struct slot *sl = &s->slots[j];
			sl->s = s;
			if (posix_memalign((void **)&sl->buf, 4096, b.bs) != 0) {
				fprintf(stderr, "iscsi-bench: out of memory\n");
				return 1;
			}
			for (uint32_t k = 0; k < b.bs; k++)
				sl->buf[k] = (unsigned char)(k * 131u + (unsigned)j * 7u + (unsigned)i);
		}
	}

	struct pollfd *pfd = calloc((size_t)b.nsess, sizeof *pfd);
	struct rusage ru0, ru1;
	uint64_t t0 = now_ns();
	uint64_t t_measure = t0 + (uint64_t)(warmup * 1e9);
	uint64_t t_end = t_measure + (uint64_t)(duration * 1e9);
	uint64_t t_measure_real = 0, t_end_real = 0;
	uint64_t stall_ns = (uint64_t)(stall_s * 1e9);
	int stalled = 0, dead_sessions = 0;

	b.phase = warmup > 0 ? WARMUP : MEASURE;
	if (b.phase == MEASURE) {
		t_measure_real = t0;
		getrusage(RUSAGE_SELF, &ru0);
		mark("#measure-start");
	}
	b.last_progress = t0;
	for (int i = 0; i < b.nsess; i++)
		for (int j = 0; j < b.qd; j++)
			if (submit(&b.sess[i].slots[j]) != 0)
				break;

	for (;;) {
		uint64_t t = now_ns();
		if (b.phase == WARMUP && t >= t_measure) {
			b.phase = MEASURE;
			t_measure_real = t;
			getrusage(RUSAGE_SELF, &ru0);
			mark("#measure-start");
		}
		if (b.phase == MEASURE && t >= t_end) {
			b.phase = DRAIN;
			t_end_real = t;
			getrusage(RUSAGE_SELF, &ru1);
			mark("#measure-end");
		}
		int inflight = 0, live = 0;
		for (int i = 0; i < b.nsess; i++) {
			if (!b.sess[i].dead) {
				inflight += b.sess[i].inflight;
				live++;
			}
		}
		if (live == 0 || (b.phase == DRAIN && inflight == 0))
			break;
		if (inflight > 0 && t - b.last_progress > stall_ns) {
			stalled = 1;
			fprintf(stderr, "iscsi-bench: no completion for %.1f s with %d commands in flight\n",
				stall_s, inflight);
			if (b.phase != DRAIN) {
				b.phase = DRAIN;
				t_end_real = t;
				getrusage(RUSAGE_SELF, &ru1);
				mark("#measure-end");
			}
			break;
		}
		for (int i = 0; i < b.nsess; i++) {
			pfd[i].fd = b.sess[i].dead ? -1 : iscsi_get_fd(b.sess[i].iscsi);
			pfd[i].events = b.sess[i].dead ? 0 : (short)iscsi_which_events(b.sess[i].iscsi);
			pfd[i].revents = 0;
		}
		int n = poll(pfd, (nfds_t)b.nsess, 50);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			break;
		}
		for (int i = 0; i < b.nsess; i++) {
			struct session *s = &b.sess[i];
			if (s->dead)
				continue;
			/* revents 0 still lets libiscsi run its timers. */
			if (iscsi_service(s->iscsi, pfd[i].revents) < 0) {
				note_error(&b, "iscsi_service: %s", iscsi_get_error(s->iscsi));
				s->dead = 1;
				dead_sessions++;
			}
		}
	}

	double secs = (double)(t_end_real - t_measure_real) / 1e9;
	double cpu_s = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		       (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
		       (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		       (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	if (t_end_real == 0 || t_measure_real == 0)
		secs = 0, cpu_s = 0;

	printf("{\"rw\":\"%s\",\"pattern\":\"%s\",\"bs\":%u,\"qd\":%d,\"sessions\":%d,"
	       "\"block_len\":%u,\"seconds\":%.4f,\"ios\":%" PRIu64 ",\"bytes\":%" PRIu64 ","
	       "\"iops\":%.1f,\"mbps\":%.2f,\"lat_mean_us\":%.2f,\"lat_p50_us\":%.2f,"
	       "\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f,\"lat_max_us\":%.2f,"
	       "\"client_cpu_s\":%.4f,\"errors\":%" PRIu64 ",\"dead_sessions\":%d,\"stalled\":%s,"
	       "\"first_error\":\"",
	       b.is_write ? "write" : "read", b.is_rand ? "rand" : "seq", b.bs, b.qd, b.nsess, b.block_len, secs,
	       b.ios, b.bytes, secs > 0 ? (double)b.ios / secs : 0.0, secs > 0 ? (double)b.bytes / secs / 1e6 : 0.0,
	       b.h.n ? b.h.sum_ns / (double)b.h.n / 1000.0 : 0.0, hist_pct_us(&b.h, 0.50), hist_pct_us(&b.h, 0.99),
	       hist_pct_us(&b.h, 0.999), (double)b.h.max_ns / 1000.0, cpu_s, b.errors, dead_sessions,
	       stalled ? "true" : "false");
	for (const char *p = b.first_error; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar((unsigned char)*p >= 0x20 ? *p : ' ');
	}
	printf("\"}\n");
	fflush(stdout);

	if (!stalled) {
		for (int i = 0; i < b.nsess; i++) {
			if (b.sess[i].dead)
				continue;
			iscsi_logout_sync(b.sess[i].iscsi);
			iscsi_destroy_context(b.sess[i].iscsi);
		}
	}
	return (stalled || b.errors) ? 2 : 0;
}
