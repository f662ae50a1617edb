/*
 * tcp-baseline: what loopback TCP alone costs on this machine, so iSCSI
 * numbers can be read against the wire limit. A forked child is the "target".
 *
 *   1. ping-pong: 48-byte request, 48-byte reply (a bare BHS each way), QD1.
 *   2. 4k-read shape: 48-byte request, 48+4096-byte reply, QD1
 *      (what a 4 KiB READ costs on the wire with phase collapse).
 *   3. stream: one connection, 1 MiB writes for the given seconds -> MB/s.
 *
 * Prints one JSON line. Usage: tcp-baseline [seconds-per-test]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int full_io(int fd, void *buf, size_t len, int wr)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = wr ? write(fd, (char *)buf + done, len - done) : read(fd, (char *)buf + done, len - done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Child: accept one connection per test; first byte of the session says which. */
static void serve(int lfd)
{
	static char big[1 << 20];
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(0);
		nodelay(fd);
		char mode;
		if (full_io(fd, &mode, 1, 0) < 0) {
			close(fd);
			continue;
		}
		if (mode == 'q') {
			close(fd);
			_exit(0);
		}
		if (mode == 's') {
			while (read(fd, big, sizeof big) > 0) {
			}
		} else {
			size_t reply = mode == 'p' ? 48 : 48 + 4096;
			char req[48];
			memset(big, 0x5a, reply);
			while (full_io(fd, req, sizeof req, 0) == 0)
				if (full_io(fd, big, reply, 1) < 0)
					break;
		}
		close(fd);
	}
}

static int dial(int port, char mode)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("connect");
		exit(1);
	}
	nodelay(fd);
	full_io(fd, &mode, 1, 1);
	return fd;
}

static void rtt(int port, char mode, double secs, double *mean_us, double *ops)
{
	static char buf[48 + 4096];
	size_t reply = mode == 'p' ? 48 : 48 + 4096;
	int fd = dial(port, mode);
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), n = 0, t;
	memset(buf, 1, 48);
	do {
		full_io(fd, buf, 48, 1);
		full_io(fd, buf, reply, 0);
		n++;
		t = now_ns();
	} while (t < end);
	close(fd);
	*mean_us = (double)(t - t0) / 1000.0 / (double)n;
	*ops = (double)n / ((double)(t - t0) / 1e9);
}

static double stream(int port, double secs)
{
	static char buf[1 << 20];
	int fd = dial(port, 's');
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), bytes = 0, t = t0;
	memset(buf, 7, sizeof buf);
	do {
		if (full_io(fd, buf, sizeof buf, 1) < 0)
			break;
		bytes += sizeof buf;
		t = now_ns();
	} while (t < end);
	close(fd);
	return (double)bytes / ((double)(t - t0) / 1e9) / 1e6;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t alen = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("listen");
		return 1;
	}
	int port = ntohs(a.sin_port);
	pid_t child = fork();
	if (child == 0)
		serve(lfd);
	close(lfd);

	double p_us, p_ops, r_us, r_ops;
	rtt(port, 'p', secs, &p_us, &p_ops);
	rtt(port, 'r', secs, &r_us, &r_ops);
	double mbps = stream(port, secs);
	close(dial(port, 'q'));
	waitpid(child, NULL, 0);
	printf("{\"pingpong48_rtt_us\":%.2f,\"pingpong48_ops\":%.0f,\"read4k_shape_rtt_us\":%.2f,"
	       "\"read4k_shape_ops\":%.0f,\"stream_mbps\":%.1f,\"seconds_per_test\":%.2f}\n",
	       p_us, p_ops, r_us, r_ops, mbps, secs);
	return 0;
}
