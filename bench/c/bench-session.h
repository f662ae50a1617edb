/*
 * Sessions for iscsi-bench: N libiscsi contexts to one LUN, logged in
 * concurrently and serviced from one poll() loop.
 */
#ifndef TSGT_BENCH_SESSION_H
#define TSGT_BENCH_SESSION_H

#include <poll.h>
#include <stdint.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

struct session {
	struct iscsi_context *iscsi;
	/* 0 = logging in, 1 = logged in, -1 = login failed */
	int connect_state;
	int dead;
};

struct sessions {
	struct session *s;
	int n;
	int lun;
	uint32_t block_len;
	uint64_t lun_bytes;
	uint64_t stall_ns;
	/* n session fds, then stdin */
	struct pollfd *pfd;
	/* Where the next service pass starts (rotates: see service_fds_range). */
	unsigned turn;
	char last_error[256];
};

uint64_t now_ns(void);

/* Log n sessions in to the LUN of `url` and read its geometry. 0 or -1 (reason on stderr). */
int sessions_open(struct sessions *ss, const char *url, int n, uint64_t stall_ns);

/* poll() every live session once; -1 if one was lost (it is marked dead, reason in last_error). */
int service_all(struct sessions *ss, int timeout_ms);
/* Service sessions [from, to) only. */
int service_range(struct sessions *ss, int from, int to, int timeout_ms);

/* Same, also watching stdin: 1 if stdin is readable, 0 if not, -1 if a session was lost. */
int service_all_and_stdin(struct sessions *ss, int timeout_ms);

/* Log every live session out concurrently (bounded wait), then free everything. */
void sessions_close(struct sessions *ss);

#endif
