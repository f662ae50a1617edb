/*
 * iscsi-bench: block workloads against one iSCSI LUN on libiscsi's
 * asynchronous API, several sessions driven from one poll() loop.
 *
 * One shot:
 *   iscsi-bench --url iscsi://127.0.0.1:3260/iqn.x:y/0 --rw read --pattern rand
 *               --bs 4096 --qd 32 --sessions 1 --duration 3 --warmup 1
 * Persistent (used by bench/run.ts): log in --sessions sessions once, print
 * "#ready", then run one workload per stdin line
 *   run <read|write> <rand|seq> <bs> <qd> <sessions> <duration> <warmup> <seed>
 * until "quit" or EOF. Logging in once matters: istgt accepts about one
 * connection per second, and logins are not what is being measured. Between
 * commands every session keeps being serviced so targets' NOP-In pings are
 * answered.
 *
 * Each run prints "#measure-start" and "#measure-end" at the edges of the
 * measured window (so the caller can sample the target's CPU time), then one
 * JSON line. Diagnostics go to stderr. After a run with errors, a stall or a
 * dropped session the process exits with status 2 (its sessions are suspect);
 * bad usage or a failed login exits 1.
 *
 * Login keys: libiscsi 1.19 has no public setter for MaxRecvDataSegmentLength,
 * FirstBurstLength or MaxBurstLength; it always offers 262144 for all three,
 * ImmediateData=Yes and InitialR2T=No, to every target alike. HeaderDigest is
 * forced to None (libiscsi's default offer "None,CRC32C" lets the target pick).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench-session.h"
#include "latency-hist.h"

enum phase { WARMUP, MEASURE, DRAIN };

struct run;

struct slot {
	struct run *r;
	int sess;
	unsigned char *buf;
	/* libiscsi keeps a pointer to the iovec until the task completes. */
	struct scsi_iovec iov;
	uint64_t t_submit;
};

struct run {
	struct sessions *ss;
	int is_write, is_rand, qd, nsess;
	uint32_t bs;
	uint64_t units; /* LUN size in units of bs */
	struct slot *slots; /* nsess * qd */
	int *inflight;	    /* per session */
	uint64_t *sess_ios; /* per session, measured window */
	uint64_t *rng, *seq_next, *seq_lo, *seq_hi;
	enum phase phase;
	struct hist h;
	uint64_t ios, bytes, errors, last_progress;
	char first_error[384];
};

static void mark(const char *what)
{
	printf("%s\n", what);
	fflush(stdout);
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

static void note_error(struct run *r, const char *what, const char *detail)
{
	r->errors++;
	if (!r->first_error[0])
		snprintf(r->first_error, sizeof r->first_error, "%s: %s", what, detail ? detail : "");
}

static int submit(struct slot *sl);

static void on_done(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct slot *sl = private_data;
	struct run *r = sl->r;
	struct scsi_task *task = command_data;
	uint64_t t = now_ns();

	r->inflight[sl->sess]--;
	r->last_progress = t;
	if (status == SCSI_STATUS_GOOD) {
		if (r->phase == MEASURE) {
			hist_add(&r->h, t - sl->t_submit);
			r->ios++;
			r->sess_ios[sl->sess]++;
			r->bytes += r->bs;
		}
	} else if (status == SCSI_STATUS_CHECK_CONDITION && task) {
		char d[96];
		snprintf(d, sizeof d, "sense key %d asc/ascq 0x%04x", (int)task->sense.key, (unsigned)task->sense.ascq);
		note_error(r, "CHECK CONDITION", d);
	} else {
		note_error(r, "command failed", iscsi_get_error(iscsi));
	}
	if (task)
		scsi_free_scsi_task(task);
	if (r->phase != DRAIN && !r->ss->s[sl->sess].dead)
		submit(sl);
}

static uint64_t next_lba(struct run *r, int i)
{
	uint64_t unit;
	if (r->is_rand) {
		unit = xorshift(&r->rng[i]) % r->units;
	} else {
		unit = r->seq_next[i]++;
		if (r->seq_next[i] >= r->seq_hi[i])
			r->seq_next[i] = r->seq_lo[i];
	}
	return unit * (r->bs / r->ss->block_len);
}

static int submit(struct slot *sl)
{
	struct run *r = sl->r;
	struct session *s = &r->ss->s[sl->sess];
	uint64_t lba = next_lba(r, sl->sess);
	struct scsi_task *task;
	int bl = (int)r->ss->block_len;

	sl->iov.iov_base = sl->buf;
	sl->iov.iov_len = r->bs;
	sl->t_submit = now_ns();
	if (r->is_write)
		task = iscsi_write16_iov_task(s->iscsi, r->ss->lun, lba, NULL, r->bs, bl, 0, 0, 0, 0, 0, on_done, sl,
					      &sl->iov, 1);
	else
		task = iscsi_read16_iov_task(s->iscsi, r->ss->lun, lba, r->bs, bl, 0, 0, 0, 0, 0, on_done, sl, &sl->iov,
					     1);
	if (task == NULL) {
		note_error(r, "submit failed", iscsi_get_error(s->iscsi));
		s->dead = 1;
		return -1;
	}
	r->inflight[sl->sess]++;
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_result(const struct run *r, double secs, double cpu_s, int dead, int stalled)
{
	/* Fairness between sessions: the slowest session's share of the mean, and Jain's index (1 = all equal). */
	double sum = 0, sumsq = 0, min_share = 1, jain = 1;
	uint64_t min_ios = UINT64_MAX;
	for (int i = 0; i < r->nsess; i++) {
		double x = (double)r->sess_ios[i];
		sum += x, sumsq += x * x;
		if (r->sess_ios[i] < min_ios)
			min_ios = r->sess_ios[i];
	}
	if (sum > 0) {
		min_share = (double)min_ios / (sum / r->nsess);
		jain = sum * sum / (r->nsess * sumsq);
	}
	printf("{\"rw\":\"%s\",\"pattern\":\"%s\",\"bs\":%u,\"qd\":%d,\"sessions\":%d,"
	       "\"block_len\":%u,\"seconds\":%.4f,\"ios\":%" PRIu64 ",\"bytes\":%" PRIu64 ","
	       "\"iops\":%.1f,\"mbps\":%.2f,\"lat_mean_us\":%.2f,\"lat_p50_us\":%.2f,"
	       "\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f,\"lat_max_us\":%.2f,"
	       "\"client_cpu_s\":%.4f,\"errors\":%" PRIu64 ",\"dead_sessions\":%d,\"stalled\":%s,"
	       "\"session_min_share\":%.4f,\"session_jain\":%.4f,"
	       "\"first_error\":\"",
	       r->is_write ? "write" : "read", r->is_rand ? "rand" : "seq", r->bs, r->qd, r->nsess, r->ss->block_len,
	       secs, r->ios, r->bytes, secs > 0 ? (double)r->ios / secs : 0.0,
	       secs > 0 ? (double)r->bytes / secs / 1e6 : 0.0, r->h.n ? r->h.sum_ns / (double)r->h.n / 1000.0 : 0.0,
	       hist_pct_us(&r->h, 0.50), hist_pct_us(&r->h, 0.99), hist_pct_us(&r->h, 0.999),
	       (double)r->h.max_ns / 1000.0, cpu_s, r->errors, dead, stalled ? "true" : "false", min_share, jain);
	for (const char *p = r->first_error; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar((unsigned char)*p >= 0x20 ? *p : ' ');
	}
	printf("\"}\n");
	fflush(stdout);
}

/* One workload on the first `nsess` sessions. Returns 0 if the sessions are still sound. */
static int run_workload(struct sessions *ss, int is_write, int is_rand, uint32_t bs, int qd, int nsess,
			double duration, double warmup, uint64_t seed)
{
	struct run r;
	memset(&r, 0, sizeof r);
	r.ss = ss;
	r.is_write = is_write, r.is_rand = is_rand, r.bs = bs, r.qd = qd, r.nsess = nsess;
	if (bs == 0 || bs % ss->block_len != 0 || qd < 1 || nsess < 1 || nsess > ss->n || duration <= 0) {
		fprintf(stderr, "iscsi-bench: bad workload (bs %u must be a multiple of %u, 1 <= sessions <= %d)\n", bs,
			ss->block_len, ss->n);
		return -1;
	}
	r.units = ss->lun_bytes / bs;
	r.slots = calloc((size_t)nsess * (size_t)qd, sizeof *r.slots);
	r.inflight = calloc((size_t)nsess, sizeof *r.inflight);
	r.sess_ios = calloc((size_t)nsess, sizeof *r.sess_ios);
	r.rng = calloc((size_t)nsess, sizeof *r.rng);
	r.seq_next = calloc((size_t)nsess, sizeof *r.seq_next);
	r.seq_lo = calloc((size_t)nsess, sizeof *r.seq_lo);
	r.seq_hi = calloc((size_t)nsess, sizeof *r.seq_hi);
	for (int i = 0; i < nsess; i++) {
		uint64_t per = r.units / (uint64_t)nsess;
		r.rng[i] = (seed | 1) + 0x632be59bd9b4e019ull * (uint64_t)(i + 1);
		r.seq_lo[i] = r.seq_next[i] = per * (uint64_t)i;
		r.seq_hi[i] = r.seq_lo[i] + per;
	}
	for (int k = 0; k < nsess * qd; k++) {
		struct slot *sl = &r.slots[k];
		sl->r = &r;
		sl->sess = k / qd;
		if (posix_memalign((void **)&sl->buf, 4096, bs) != 0) {
			fprintf(stderr, "iscsi-bench: out of memory\n");
			exit(1);
		}
		for (uint32_t j = 0; j < bs; j++)
			sl->buf[j] = (unsigned char)(j * 131u + (unsigned)k * 7u);
	}

	uint64_t t0 = now_ns();
	uint64_t t_measure = t0 + (uint64_t)(warmup * 1e9);
	uint64_t t_end = t_measure + (uint64_t)(duration * 1e9);
	uint64_t t_m0 = 0, t_m1 = 0;
	double cpu0 = 0, cpu1 = 0;
	int stalled = 0;
	uint64_t idle_serviced = t0;

	r.phase = WARMUP;
	r.last_progress = t0;
	for (int k = 0; k < nsess * qd; k++)
		if (!ss->s[r.slots[k].sess].dead)
			submit(&r.slots[k]);

	for (;;) {
		uint64_t t = now_ns();
		if (r.phase == WARMUP && t >= t_measure) {
			r.phase = MEASURE;
			t_m0 = t;
			cpu0 = cpu_seconds();
			mark("#measure-start");
		}
		if (r.phase == MEASURE && t >= t_end) {
			r.phase = DRAIN;
			t_m1 = t;
			cpu1 = cpu_seconds();
			mark("#measure-end");
		}
		int inflight = 0, live = 0;
		for (int i = 0; i < nsess; i++) {
			if (!ss->s[i].dead) {
				inflight += r.inflight[i];
				live++;
			}
		}
		if (live == 0 || (r.phase == DRAIN && inflight == 0))
			break;
		if (inflight > 0 && t - r.last_progress > ss->stall_ns) {
			stalled = 1;
			fprintf(stderr, "iscsi-bench: no completion for %.1f s with %d commands in flight\n",
				(double)ss->stall_ns / 1e9, inflight);
			break;
		}
		/*
		 * The sessions this workload uses are serviced every turn; the idle
		 * rest (kept logged in across the matrix) only every 100 ms, which is
		 * plenty for NOP-In pings. Polling all 64 every turn made the client,
		 * not the target, the bottleneck at low queue depth.
		 */
		if (service_range(ss, 0, nsess, 50) < 0)
			note_error(&r, "connection lost", ss->last_error);
		if (nsess < ss->n && t - idle_serviced > 100000000ull) {
			idle_serviced = t;
			if (service_range(ss, nsess, ss->n, 0) < 0)
				note_error(&r, "connection lost", ss->last_error);
		}
	}
	if (t_m1 == 0 && t_m0 != 0) {
		t_m1 = now_ns();
		cpu1 = cpu_seconds();
		mark("#measure-end");
	}

	int dead = 0;
	for (int i = 0; i < ss->n; i++)
		dead += ss->s[i].dead;
	double secs = t_m0 && t_m1 > t_m0 ? (double)(t_m1 - t_m0) / 1e9 : 0;
	print_result(&r, secs, secs > 0 ? cpu1 - cpu0 : 0, dead, stalled);
	int sound = !stalled && !dead && r.errors == 0;
	if (sound) {
		for (int k = 0; k < nsess * qd; k++)
			free(r.slots[k].buf);
		free(r.slots), free(r.inflight), free(r.sess_ios), free(r.rng), free(r.seq_next), free(r.seq_lo), free(r.seq_hi);
	}
	/* A run that did not drain leaves tasks pointing at its slots: keep them. */
	return sound ? 0 : -1;
}

/* Persistent mode: run commands from stdin, servicing every session in between. */
static int serve(struct sessions *ss)
{
	char line[512];
	size_t len = 0;
	printf("#ready {\"sessions\":%d,\"block_len\":%u,\"lun_bytes\":%" PRIu64 "}\n", ss->n, ss->block_len,
	       ss->lun_bytes);
	fflush(stdout);
	for (;;) {
		int in = service_all_and_stdin(ss, 1000);
		if (in < 0)
			return 2; /* a session dropped while idle */
		if (in == 0)
			continue;
		ssize_t n = read(0, line + len, sizeof line - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
		line[len] = 0;
		char *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = 0;
			char rw[16], pat[16];
			unsigned bs;
			int qd, ns;
			double dur, warm;
			unsigned long long seed;
			if (strcmp(line, "quit") == 0)
				return 0;
			if (sscanf(line, "run %15s %15s %u %d %d %lf %lf %llu", rw, pat, &bs, &qd, &ns, &dur, &warm, &seed) != 8) {
				fprintf(stderr, "iscsi-bench: bad command: %s\n", line);
				return 1;
			}
			if (run_workload(ss, strcmp(rw, "write") == 0, strcmp(pat, "seq") != 0, bs, qd, ns, dur, warm, seed) != 0)
				return 2;
			size_t rest = len - (size_t)(nl + 1 - line);
			memmove(line, nl + 1, rest + 1);
			len = rest;
		}
		if (len >= sizeof line - 1)
			return 1;
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: iscsi-bench --url iscsi://host:port/iqn/lun [--sessions N] [--stall SEC]\n"
		"                   (--serve | [--rw read|write] [--pattern rand|seq] [--bs BYTES] [--qd N]\n"
		"                              [--duration SEC] [--warmup SEC] [--seed N])\n");
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	int is_write = 0, is_rand = 1, qd = 1, nsess = 1, persistent = 0;
	unsigned bs = 4096;
	double duration = 3, warmup = 1, stall_s = 10;
	unsigned long long seed = 0x9e3779b97f4a7c15ull;
	static const struct option opts[] = {
		{ "url", required_argument, 0, 'u' },	   { "rw", required_argument, 0, 'r' },
		{ "pattern", required_argument, 0, 'p' },  { "bs", required_argument, 0, 'b' },
		{ "qd", required_argument, 0, 'q' },	   { "sessions", required_argument, 0, 's' },
		{ "duration", required_argument, 0, 'd' }, { "warmup", required_argument, 0, 'w' },
		{ "seed", required_argument, 0, 'S' },	   { "stall", required_argument, 0, 'T' },
		{ "serve", no_argument, 0, 'P' },	   { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'r': is_write = strcmp(optarg, "write") == 0; break;
		case 'p': is_rand = strcmp(optarg, "seq") != 0; break;
		case 'b': bs = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'q': qd = atoi(optarg); break;
		case 's': nsess = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'T': stall_s = atof(optarg); break;
		case 'P': persistent = 1; break;
		default: usage(); return 1;
		}
	}
	if (!url || nsess < 1 || warmup < 0 || stall_s <= 0) {
		usage();
		return 1;
	}
	struct sessions ss;
	if (sessions_open(&ss, url, nsess, (uint64_t)(stall_s * 1e9)) != 0)
		return 1;
	int rc = persistent ? serve(&ss)
			    : (run_workload(&ss, is_write, is_rand, bs, qd, nsess, duration, warmup, seed) ? 2 : 0);
	if (rc == 0)
		sessions_close(&ss);
	return rc;
}
