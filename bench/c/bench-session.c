/* Sessions for iscsi-bench; see bench-session.h. */
#define _GNU_SOURCE
#include "bench-session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOGIN_WINDOW 4

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Invoked once when the login settles; a later call (connection torn down) is ignored. */
static void on_connect(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	struct session *s = private_data;
	(void)iscsi, (void)command_data;
	if (s->connect_state == 0)
		s->connect_state = status == SCSI_STATUS_GOOD ? 1 : -1;
}

static struct iscsi_context *new_context(const char *url_str, int idx, int *lun, char *portal, size_t portal_len)
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
	*lun = url->lun;
	snprintf(portal, portal_len, "%s", url->portal);
	iscsi_destroy_url(url);
	return iscsi;
}

/* Sessions [from, from + k) go into pfd[0 .. k). */
static void fill_pfd_range(struct sessions *ss, int from, int k)
{
	for (int i = 0; i < k; i++) {
		struct session *s = &ss->s[from + i];
		ss->pfd[i].fd = s->dead ? -1 : iscsi_get_fd(s->iscsi);
		ss->pfd[i].events = s->dead ? 0 : (short)iscsi_which_events(s->iscsi);
		ss->pfd[i].revents = 0;
	}
}

static void fill_pfd(struct sessions *ss, int k)
{
	fill_pfd_range(ss, 0, k);
}

static int service_fds_range(struct sessions *ss, int from, int k, int nfds, int timeout_ms)
{
	if (poll(ss->pfd, (nfds_t)nfds, timeout_ms) < 0 && errno != EINTR) {
		snprintf(ss->last_error, sizeof ss->last_error, "poll: %s", strerror(errno));
		return -1;
	}
	int lost = 0;
	/*
	 * Start each pass at the next session: with a fixed order, when the
	 * client is the bottleneck the sessions serviced last send their next
	 * commands last, find their answers not yet back at the next poll, and
	 * complete fewer I/Os (measured: the slowest of 64 sessions at 0.76 of
	 * the mean, always the last ones, and the first ones when the order was
	 * reversed). That was the client's unfairness, not the target's.
	 */
	unsigned start = k > 0 ? ss->turn++ % (unsigned)k : 0;
	for (int j = 0; j < k; j++) {
		int i = (int)((start + (unsigned)j) % (unsigned)k);
		struct session *s = &ss->s[from + i];
		/* revents 0 still lets libiscsi run its timers. */
		if (!s->dead && iscsi_service(s->iscsi, ss->pfd[i].revents) < 0) {
			snprintf(ss->last_error, sizeof ss->last_error, "session %d: %s", from + i, iscsi_get_error(s->iscsi));
			s->dead = 1;
			lost = 1;
		}
	}
	return lost ? -1 : 0;
}

static int service_fds(struct sessions *ss, int k, int nfds, int timeout_ms)
{
	return service_fds_range(ss, 0, k, nfds, timeout_ms);
}

int service_range(struct sessions *ss, int from, int to, int timeout_ms)
{
	if (to <= from)
		return 0;
	fill_pfd_range(ss, from, to - from);
	return service_fds_range(ss, from, to - from, to - from, timeout_ms);
}

/* Service the first k sessions (the ones created so far during login). */
static int service_some(struct sessions *ss, int k, int timeout_ms)
{
	fill_pfd(ss, k);
	return service_fds(ss, k, k, timeout_ms);
}

int service_all(struct sessions *ss, int timeout_ms)
{
	return service_some(ss, ss->n, timeout_ms);
}

int service_all_and_stdin(struct sessions *ss, int timeout_ms)
{
	fill_pfd(ss, ss->n);
	ss->pfd[ss->n].fd = 0;
	ss->pfd[ss->n].events = POLLIN;
	ss->pfd[ss->n].revents = 0;
	if (service_fds(ss, ss->n, ss->n + 1, timeout_ms) < 0) {
		fprintf(stderr, "iscsi-bench: lost a session while idle: %s\n", ss->last_error);
		return -1;
	}
	return (ss->pfd[ss->n].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}

static int read_geometry(struct sessions *ss)
{
	struct scsi_task *rc = iscsi_readcapacity16_sync(ss->s[0].iscsi, ss->lun);
	if (!rc || rc->status != SCSI_STATUS_GOOD) {
		fprintf(stderr, "iscsi-bench: READ CAPACITY(16) failed: %s\n", iscsi_get_error(ss->s[0].iscsi));
		return -1;
	}
	struct scsi_readcapacity16 *cap = scsi_datain_unmarshall(rc);
	if (!cap || cap->block_length == 0) {
		fprintf(stderr, "iscsi-bench: cannot parse READ CAPACITY(16) data\n");
		return -1;
	}
	ss->block_len = cap->block_length;
	ss->lun_bytes = (cap->returned_lba + 1) * (uint64_t)cap->block_length;
	scsi_free_scsi_task(rc);
	return 0;
}

int sessions_open(struct sessions *ss, const char *url, int n, uint64_t stall_ns)
{
	char portal[MAX_STRING_SIZE + 1];
	memset(ss, 0, sizeof *ss);
	ss->n = n;
	ss->stall_ns = stall_ns;
	ss->s = calloc((size_t)n, sizeof *ss->s);
	ss->pfd = calloc((size_t)n + 1, sizeof *ss->pfd);
	/*
	 * A few logins in flight at a time: istgt accepts about one connection
	 * per second, and a burst of 64 connects into its small backlog costs
	 * SYN retransmission back-off; other targets just finish sooner.
	 */
	int started = 0;
	uint64_t until = now_ns() + (uint64_t)(30 + 2 * n) * 1000000000ull;
	for (;;) {
		int waiting = 0, done = 0;
		for (int i = 0; i < started; i++) {
			if (ss->s[i].connect_state < 0) {
				fprintf(stderr, "iscsi-bench: login %d to %s failed: %s\n", i, url,
					iscsi_get_error(ss->s[i].iscsi));
				return -1;
			}
			waiting += ss->s[i].connect_state == 0;
			done += ss->s[i].connect_state == 1;
		}
		if (done == n)
			break;
		while (waiting < LOGIN_WINDOW && started < n) {
			struct session *s = &ss->s[started];
			s->iscsi = new_context(url, started, &ss->lun, portal, sizeof portal);
			if (!s->iscsi)
				return -1;
			if (iscsi_full_connect_async(s->iscsi, portal, ss->lun, on_connect, s) != 0) {
				fprintf(stderr, "iscsi-bench: connect to %s failed: %s\n", url, iscsi_get_error(s->iscsi));
				return -1;
			}
			started++;
			waiting++;
		}
		if (now_ns() > until) {
			fprintf(stderr, "iscsi-bench: %d of %d logins done in time\n", done, n);
			return -1;
		}
		if (service_some(ss, started, 50) < 0) {
			for (int i = 0; i < started; i++)
				if (ss->s[i].dead && ss->s[i].connect_state == 0)
					ss->s[i].connect_state = -1;
		}
	}
	return read_geometry(ss);
}

static void on_logout(struct iscsi_context *iscsi, int status, void *command_data, void *private_data)
{
	int *pending = private_data;
	(void)iscsi, (void)status, (void)command_data;
	(*pending)--;
}

void sessions_close(struct sessions *ss)
{
	int pending = 0;
	for (int i = 0; i < ss->n; i++)
		if (!ss->s[i].dead && iscsi_logout_async(ss->s[i].iscsi, on_logout, &pending) == 0)
			pending++;
	uint64_t until = now_ns() + 2000000000ull;
	while (pending > 0 && now_ns() < until)
		if (service_all(ss, 50) < 0)
			break;
	for (int i = 0; i < ss->n; i++)
		iscsi_destroy_context(ss->s[i].iscsi);
	free(ss->s);
	free(ss->pfd);
}
