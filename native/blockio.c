/*
 * tsgt_blockio: the few block-provisioning system calls Node's fs lacks.
 *
 *   fallocate(PUNCH_HOLE|KEEP_SIZE), fallocate(ZERO_RANGE|KEEP_SIZE)
 *   lseek(SEEK_DATA), lseek(SEEK_HOLE)
 *   ioctl(BLKDISCARD), ioctl(BLKZEROOUT), ioctl(BLKGETSIZE64), ioctl(BLKPBSZGET)
 *
 * Every call above runs on libuv's thread pool (napi_create_async_work) and
 * settles a promise; nothing there blocks the event loop. The exception is the
 * pair preadNowait/pwritevNowait: preadv2/pwritev2 with RWF_NOWAIT, made
 * synchronously on the calling thread. RWF_NOWAIT makes the kernel refuse
 * (EAGAIN) instead of waiting for the device, so these only ever copy to or
 * from the page cache; the caller falls back to the thread pool for the rest.
 * They return the byte count, or the negated errno (no exception, no
 * allocation: they sit on the per-command hot path). sendFile, also
 * synchronous, sends a PDU header and a file range to a non-blocking socket
 * (send(MSG_MORE) + sendfile): the kernel passes page-cache pages to TCP
 * instead of copying them through a user buffer; it stops at EAGAIN and
 * reports how far it got. Failures reject with an
 * Error whose `code` is the errno name (e.g. "EOPNOTSUPP") and whose `errno`
 * is the negated errno, as Node's own fs errors are. Where the platform lacks
 * a call the promise rejects with ENOSYS, so the JavaScript side falls back.
 *
 * Plain C against node_api.h (N-API version 8): no node-addon-api dependency.
 */

#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <limits.h>

#ifdef __linux__
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#endif

enum op {
  OP_PUNCH_HOLE,
  OP_ZERO_RANGE,
  OP_SEEK_DATA,
  OP_SEEK_HOLE,
  OP_DISCARD,
  OP_ZEROOUT,
  OP_GETSIZE64,
  OP_PBSZGET,
};

struct request {
  enum op op;
  int fd;
  int64_t offset;
  int64_t length;
  /* Output: the lseek position or device size; -1 from lseek with ENXIO (no more data / hole). */
  int64_t result;
  int err;
  napi_deferred deferred;
  napi_async_work work;
};

static const char *op_name(enum op op) {
  switch (op) {
    case OP_PUNCH_HOLE:
    case OP_ZERO_RANGE:
      return "fallocate";
    case OP_SEEK_DATA:
    case OP_SEEK_HOLE:
      return "lseek";
    default:
      return "ioctl";
  }
}

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
    case ENOTSUP: return "ENOTSUP";
#endif
    case EINTR: return "EINTR";
    case ETXTBSY: return "ETXTBSY";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "EUNKNOWN";
  }
}

/* Thread-pool side: the system call itself. No N-API calls are allowed here. */
static void execute(napi_env env, void *data) {
  struct request *r = data;
  (void)env;
  r->err = 0;
  r->result = 0;
#ifdef __linux__
  switch (r->op) {
    case OP_PUNCH_HOLE:
    case OP_ZERO_RANGE: {
      int mode = FALLOC_FL_KEEP_SIZE | (r->op == OP_PUNCH_HOLE ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
      int rc;
      do rc = fallocate(r->fd, mode, (off_t)r->offset, (off_t)r->length);
      while (rc != 0 && errno == EINTR);
      if (rc != 0) r->err = errno;
      return;
    }
    case OP_SEEK_DATA:
    case OP_SEEK_HOLE: {
      off_t pos = lseek(r->fd, (off_t)r->offset, r->op == OP_SEEK_DATA ? SEEK_DATA : SEEK_HOLE);
      if (pos < 0) {
        if (errno == ENXIO) r->result = -1; /* offset at or past EOF, or no data after it */
        else r->err = errno;
      } else {
        r->result = (int64_t)pos;
      }
      return;
    }
    case OP_DISCARD:
    case OP_ZEROOUT: {
      uint64_t range[2] = {(uint64_t)r->offset, (uint64_t)r->length};
      int rc;
      do rc = ioctl(r->fd, r->op == OP_DISCARD ? BLKDISCARD : BLKZEROOUT, range);
      while (rc != 0 && errno == EINTR);
      if (rc != 0) r->err = errno;
      return;
    }
    case OP_GETSIZE64: {
      uint64_t size = 0;
      if (ioctl(r->fd, BLKGETSIZE64, &size) != 0) r->err = errno;
      else r->result = (int64_t)size;
      return;
    }
    case OP_PBSZGET: {
      /* The physical sector size (queue/physical_block_size); ENOTTY on a regular file. */
      unsigned int size = 0;
      if (ioctl(r->fd, BLKPBSZGET, &size) != 0) r->err = errno;
      else r->result = (int64_t)size;
      return;
    }
  }
  r->err = EINVAL;
#elif defined(SEEK_DATA) && defined(SEEK_HOLE)
  if (r->op == OP_SEEK_DATA || r->op == OP_SEEK_HOLE) {
    off_t pos = lseek(r->fd, (off_t)r->offset, r->op == OP_SEEK_DATA ? SEEK_DATA : SEEK_HOLE);
    if (pos < 0) {
      if (errno == ENXIO) r->result = -1;
      else r->err = errno;
    } else {
      r->result = (int64_t)pos;
    }
    return;
  }
  r->err = ENOSYS;
#else
  r->err = ENOSYS;
#endif
}

static napi_value make_error(napi_env env, const struct request *r) {
  char message[160];
  const char *name = errno_name(r->err);
  napi_value code, msg, error, errno_value, syscall;
  snprintf(message, sizeof message, "%s: %s (%s)", op_name(r->op), strerror(r->err), name);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -r->err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, op_name(r->op), NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "syscall", syscall);
  return error;
}

/* Main-thread side: settle the promise and free the request. */
static void complete(napi_env env, napi_status status, void *data) {
  struct request *r = data;
  if (status != napi_ok && r->err == 0) r->err = status == napi_cancelled ? EINTR : EIO;
  if (r->err != 0) {
    napi_reject_deferred(env, r->deferred, make_error(env, r));
  } else {
    napi_value value;
    napi_create_double(env, (double)r->result, &value);
    napi_resolve_deferred(env, r->deferred, value);
  }
  napi_delete_async_work(env, r->work);
  free(r);
}

static int get_int64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  /* Only whole, non-negative numbers within 2^53 are exact. */
  if (!(d >= 0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

/* (fd, offset?, length?) → Promise<number>; arguments are checked here, synchronously. */
static napi_value start(napi_env env, napi_callback_info info, enum op op, size_t want) {
  size_t argc = 3;
  napi_value argv[3], promise, name;
  int64_t fd = -1, offset = 0, length = 0;
  struct request *r;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < want || !get_int64(env, argv[0], &fd) || fd > 0x7fffffff ||
      (want > 1 && !get_int64(env, argv[1], &offset)) || (want > 2 && !get_int64(env, argv[2], &length))) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected non-negative integer arguments (fd, offset, length)");
    return NULL;
  }
  r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  r->op = op;
  r->fd = (int)fd;
  r->offset = offset;
  r->length = length;
  if (napi_create_promise(env, &r->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "tsgt_blockio", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    free(r);
    napi_throw_error(env, "EIO", "cannot queue the request");
    return NULL;
  }
  return promise;
}

static napi_value punch_hole(napi_env env, napi_callback_info info) { return start(env, info, OP_PUNCH_HOLE, 3); }
static napi_value zero_range(napi_env env, napi_callback_info info) { return start(env, info, OP_ZERO_RANGE, 3); }
static napi_value seek_data(napi_env env, napi_callback_info info) { return start(env, info, OP_SEEK_DATA, 2); }
static napi_value seek_hole(napi_env env, napi_callback_info info) { return start(env, info, OP_SEEK_HOLE, 2); }
static napi_value discard(napi_env env, napi_callback_info info) { return start(env, info, OP_DISCARD, 3); }
static napi_value zeroout(napi_env env, napi_callback_info info) { return start(env, info, OP_ZEROOUT, 3); }
static napi_value getsize64(napi_env env, napi_callback_info info) { return start(env, info, OP_GETSIZE64, 1); }
static napi_value pbszget(napi_env env, napi_callback_info info) { return start(env, info, OP_PBSZGET, 1); }

/* ---- Synchronous page-cache I/O (RWF_NOWAIT) ---------------------------- */

#if defined(__linux__) && defined(RWF_NOWAIT)
#define HAVE_NOWAIT 1
#else
#define HAVE_NOWAIT 0
#endif

/* Buffers per pwritev2 call; a longer list is written in part and the caller continues. */
#define NOWAIT_MAX_IOV 64

static napi_value int_result(napi_env env, int64_t v) {
  napi_value out;
  napi_create_double(env, (double)v, &out);
  return out;
}

/* preadNowait(fd, buffer, offset, length, position) → bytes read (0 = EOF) or -errno. */
static napi_value pread_nowait(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int64_t fd, offset, length, position;
  void *data = NULL;
  size_t size = 0;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 5 || !get_int64(env, argv[0], &fd) || fd > INT_MAX || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      !get_int64(env, argv[2], &offset) || !get_int64(env, argv[3], &length) || !get_int64(env, argv[4], &position) ||
      napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok || (uint64_t)offset + (uint64_t)length > size) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected (fd, buffer, offset, length, position) within the buffer");
    return NULL;
  }
#if HAVE_NOWAIT
  {
    struct iovec iov = {(char *)data + offset, (size_t)length};
    ssize_t n;
    do n = preadv2((int)fd, &iov, 1, (off_t)position, RWF_NOWAIT);
    while (n < 0 && errno == EINTR);
    return int_result(env, n < 0 ? -(int64_t)errno : (int64_t)n);
  }
#else
  return int_result(env, -(int64_t)EOPNOTSUPP);
#endif
}

/*
 * sendFile(sock, header, fd, position, length, pad) → bytes sent or -errno.
 * Sends header, then `length` bytes of fd from `position`, then `pad` zero
 * bytes (0..3) to the non-blocking socket `sock`, stopping early at EAGAIN (or
 * at the file's end): the count tells the caller where to go on. A negative
 * result means nothing was sent.
 */
static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int64_t sock, fd, position, length, pad;
  void *header = NULL;
  size_t header_len = 0;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 6 || !get_int64(env, argv[0], &sock) || sock > INT_MAX || sock < 0 || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok ||
      !is_buffer || napi_get_buffer_info(env, argv[1], &header, &header_len) != napi_ok || !get_int64(env, argv[2], &fd) || fd > INT_MAX ||
      fd < 0 || !get_int64(env, argv[3], &position) || position < 0 || !get_int64(env, argv[4], &length) || length < 0 ||
      !get_int64(env, argv[5], &pad) || pad < 0 || pad > 3) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected (socket fd, header buffer, fd, position, length, pad 0..3)");
    return NULL;
  }
#ifdef __linux__
  {
    static const char zeros[4] = {0, 0, 0, 0};
    int64_t sent = 0;
    ssize_t n;
    /* MSG_MORE: the header waits for the data instead of leaving as a segment of its own. */
    while ((size_t)sent < header_len) {
      n = send((int)sock, (char *)header + sent, header_len - (size_t)sent, MSG_DONTWAIT | MSG_NOSIGNAL | (length + pad > 0 ? MSG_MORE : 0));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return int_result(env, sent > 0 || errno == EAGAIN ? sent : -(int64_t)errno);
      sent += n;
    }
    off_t off = (off_t)position;
    int64_t left = length;
    while (left > 0) {
      n = sendfile((int)sock, (int)fd, &off, (size_t)(left > 0x7ffff000 ? 0x7ffff000 : left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && sent == 0) return int_result(env, -(int64_t)errno);
      if (n <= 0) return int_result(env, sent); /* EAGAIN, end of file, or an error after bytes went out */
      sent += n;
      left -= n;
    }
    int64_t pad_sent = 0;
    while (pad_sent < pad) {
      n = send((int)sock, zeros, (size_t)(pad - pad_sent), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pad_sent += n;
    }
    return int_result(env, sent + pad_sent);
  }
#else
  (void)header_len;
  return int_result(env, -(int64_t)ENOSYS);
#endif
}

/* pwritevNowait(fd, buffers, position) → bytes written (possibly fewer than given) or -errno. */
static napi_value pwritev_nowait(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int64_t fd, position;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3 || !get_int64(env, argv[0], &fd) || fd > INT_MAX || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array ||
      !get_int64(env, argv[2], &position) || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected (fd, buffers, position)");
    return NULL;
  }
#if HAVE_NOWAIT
  {
    struct iovec iov[NOWAIT_MAX_IOV];
    int n_iov = 0;
    ssize_t n;
    for (uint32_t i = 0; i < count && n_iov < NOWAIT_MAX_IOV; i++) {
      napi_value el;
      bool is_buffer = false;
      void *data = NULL;
      size_t size = 0;
      if (napi_get_element(env, argv[1], i, &el) != napi_ok || napi_is_buffer(env, el, &is_buffer) != napi_ok || !is_buffer ||
          napi_get_buffer_info(env, el, &data, &size) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "buffers must hold only Buffers");
        return NULL;
      }
      if (size == 0) continue;
      iov[n_iov].iov_base = data;
      iov[n_iov].iov_len = size;
      n_iov++;
    }
    if (n_iov == 0) return int_result(env, 0);
    do n = pwritev2((int)fd, iov, n_iov, (off_t)position, RWF_NOWAIT);
    while (n < 0 && errno == EINTR);
    return int_result(env, n < 0 ? -(int64_t)errno : (int64_t)n);
  }
#else
  (void)count;
  return int_result(env, -(int64_t)EOPNOTSUPP);
#endif
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"punchHole", NULL, punch_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"zeroRange", NULL, zero_range, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekData", NULL, seek_data, NULL, NULL, NULL, napi_enumerable, NULL},
    {"seekHole", NULL, seek_hole, NULL, NULL, NULL, napi_enumerable, NULL},
    {"discard", NULL, discard, NULL, NULL, NULL, napi_enumerable, NULL},
    {"zeroOut", NULL, zeroout, NULL, NULL, NULL, napi_enumerable, NULL},
    {"blockDeviceSize", NULL, getsize64, NULL, NULL, NULL, napi_enumerable, NULL},
    {"physicalBlockSize", NULL, pbszget, NULL, NULL, NULL, napi_enumerable, NULL},
    {"preadNowait", NULL, pread_nowait, NULL, NULL, NULL, napi_enumerable, NULL},
    {"pwritevNowait", NULL, pwritev_nowait, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sendFile", NULL, send_file, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value platform;
#ifdef __linux__
  napi_create_string_utf8(env, "linux", NAPI_AUTO_LENGTH, &platform);
#else
  napi_create_string_utf8(env, "other", NAPI_AUTO_LENGTH, &platform);
#endif
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "platform", platform);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
