/* gst-zerocopy core library: shared segments.
 *
 * A segment is two anonymous memory files: "meta" (headers, state words,
 * reference records: read-write for everyone) and "data" (block payloads:
 * writable by the creator and trusted writers only).  Nothing ever gets a
 * name in /dev/shm; the memory lives exactly as long as some process holds
 * a descriptor or a mapping of it, so no crash can leave it behind.
 *
 * Life of a segment:
 *
 *   creator   zc_segment_create(): memfd_create, ftruncate, preallocate
 *             (fallocate), seal against resizing, map both read-write.
 *   handoff   zc_segment_reader_fds() (data reopened read-only) or
 *             zc_segment_writer_fds(), then zc_segment_send_fds() over a
 *             Unix socket; the peer calls zc_segment_recv_fds().
 *   peer      zc_segment_open(): sizes from fstat() only, seals required,
 *             data mapped writable only if the descriptor allows it.
 *   everyone  zc_segment_close(): unmap and close this process's view.
 *
 * Why seals: a peer that could ftruncate() the file would turn every other
 * process's access past the new end into SIGBUS.  Sealed SHRINK and GROW,
 * the size an opener reads with fstat() holds for as long as it is mapped.
 *
 * A zc_segment_t is process-local and immutable after creation: it may be
 * read from several threads at once; closing it while another thread
 * uses it is the caller's bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zc/error.h>
#include <zc/segment.h>

/* Seals every segment file carries; an opener requires the first two. */
#define ZC_SEALS_REQUIRED (F_SEAL_SHRINK | F_SEAL_GROW)
#define ZC_SEALS_CREATED (ZC_SEALS_REQUIRED | F_SEAL_SEAL)

struct zc_segment
{
  int meta_fd;
  int data_fd;                  /* -1 when there is no data file */
  void *meta;
  void *data;                   /* NULL when there is no data file */
  uint64_t meta_size;
  uint64_t data_size;
  bool data_writable;
};

/* Wire protocol of zc_segment_send_fds(), one message:
 *
 *   payload   struct zc_segment_fds_msg (8 bytes, host byte order: both
 *             ends are on the same machine)
 *   control   one SCM_RIGHTS message with exactly @n_fds descriptors,
 *             meta first, then data (when there is one)
 *
 * Never change this struct in place: a new message gets a new magic.
 */
#define ZC_SEGMENT_FDS_MAGIC UINT32_C (0x4446435a)      /* "ZCFD" */
#define ZC_SEGMENT_FDS_MAX 2u

struct zc_segment_fds_msg
{
  uint32_t magic;               /* ZC_SEGMENT_FDS_MAGIC */
  uint32_t n_fds;               /* 1 (meta) or 2 (meta, data) */
};
_Static_assert (sizeof (struct zc_segment_fds_msg) == 8,
    "segment fds message is wire ABI");

/* Room for more descriptors than a valid message carries, so that a few
 * extra ones are counted (and closed) instead of truncating the control
 * data; beyond that the kernel sets MSG_CTRUNC and we refuse. */
#define ZC_RECV_FDS_ROOM 8u

static int
make_memfd (const char *debug_name, const char *suffix, uint64_t size)
{
  char name[250];
  int fd, err;

  /* The name only shows in /proc/PID/fd and /proc/PID/maps. */
  snprintf (name, sizeof (name), "zc:%s:%s",
      debug_name ? debug_name : "segment", suffix);
  fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -errno;
  if (ftruncate (fd, (off_t) size) < 0)
    goto failed;
  /* Preallocate every page now: a full tmpfs or memory cgroup fails here,
   * with an error, instead of as SIGBUS at some later frame's first write,
   * and no frame pays for a page allocation on the hot path. */
  if (fallocate (fd, 0, 0, (off_t) size) < 0)
    goto failed;
  if (fcntl (fd, F_ADD_SEALS, ZC_SEALS_CREATED) < 0)
    goto failed;
  return fd;

failed:
  err = -errno;
  close (fd);
  return err;
}

static int
map_file (int fd, uint64_t size, bool writable, void **out)
{
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  /* MAP_POPULATE: the pages exist already (fallocate); this fills our page
   * tables with them in one go, at map time.  Without it every first touch
   * of every page of every block costs a page fault, in each process: a
   * 1080p frame is 760 of them, milliseconds on a virtual machine. */
  void *p = mmap (NULL, (size_t) size, prot, MAP_SHARED | MAP_POPULATE, fd, 0);

  if (p == MAP_FAILED)
    return -errno;
  *out = p;
  return 0;
}

static zc_segment_t *
segment_new (void)
{
  zc_segment_t *seg = calloc (1, sizeof (*seg));

  if (seg) {
    seg->meta_fd = -1;
    seg->data_fd = -1;
  }
  return seg;
}

int
zc_segment_create (const char *debug_name, uint64_t meta_size,
    uint64_t data_size, zc_segment_t ** out)
{
  zc_segment_t *seg;
  int ret;

  if (out == NULL || meta_size == 0)
    return -EINVAL;
  /* Checked one by one first so that the sum cannot wrap. */
  if (meta_size > ZC_SEGMENT_MAX_SIZE || data_size > ZC_SEGMENT_MAX_SIZE ||
      meta_size + data_size > ZC_SEGMENT_MAX_SIZE)
    return -EFBIG;

  seg = segment_new ();
  if (seg == NULL)
    return -ENOMEM;
  seg->meta_size = meta_size;
  seg->data_size = data_size;
  seg->data_writable = true;

  ret = make_memfd (debug_name, "meta", meta_size);
  if (ret < 0)
    goto failed;
  seg->meta_fd = ret;
  ret = map_file (seg->meta_fd, meta_size, true, &seg->meta);
  if (ret < 0)
    goto failed;

  if (data_size > 0) {
    ret = make_memfd (debug_name, "data", data_size);
    if (ret < 0)
      goto failed;
    seg->data_fd = ret;
    ret = map_file (seg->data_fd, data_size, true, &seg->data);
    if (ret < 0)
      goto failed;
  }

  *out = seg;
  return 0;

failed:
  zc_segment_close (seg);
  return ret;
}

/* Checks one received file: a memory file, sealed against resizing, that
 * this process can read.  Returns its access mode and size. */
static int
inspect_file (int fd, int *accmode, uint64_t * size)
{
  struct stat st;
  int flags, seals;

  flags = fcntl (fd, F_GETFL);
  if (flags < 0)
    return -errno;
  *accmode = flags & O_ACCMODE;
  if (*accmode != O_RDONLY && *accmode != O_RDWR)
    return -EINVAL;

  /* Seals first: once SHRINK and GROW are on, nobody can remove them, so
   * the size fstat() reports afterwards is the size for good. */
  seals = fcntl (fd, F_GET_SEALS);
  if (seals < 0)
    return errno == EINVAL ? -EINVAL : -errno;  /* not a memory file */
  if ((seals & ZC_SEALS_REQUIRED) != ZC_SEALS_REQUIRED)
    return ZC_ESEALS;

  if (fstat (fd, &st) < 0)
    return -errno;
  if (!S_ISREG (st.st_mode) || st.st_size < 0)
    return -EINVAL;
  if ((uint64_t) st.st_size > ZC_SEGMENT_MAX_SIZE)
    return -EFBIG;
  *size = (uint64_t) st.st_size;
  return 0;
}

int
zc_segment_open (int meta_fd, int data_fd, zc_segment_t ** out)
{
  zc_segment_t *seg = NULL;
  uint64_t meta_size, data_size = 0;
  int meta_mode, data_mode = O_RDONLY;
  int ret;

  if (out == NULL || meta_fd < 0 || data_fd < -1)
    return -EINVAL;

  ret = inspect_file (meta_fd, &meta_mode, &meta_size);
  if (ret < 0)
    return ret;
  /* Everybody writes state words and reference records in meta. */
  if (meta_mode != O_RDWR)
    return -EACCES;
  if (meta_size == 0)
    return -EINVAL;
  if (data_fd >= 0) {
    ret = inspect_file (data_fd, &data_mode, &data_size);
    if (ret < 0)
      return ret;
  }
  if (meta_size + data_size > ZC_SEGMENT_MAX_SIZE)
    return -EFBIG;

  seg = segment_new ();
  if (seg == NULL)
    return -ENOMEM;
  seg->meta_size = meta_size;
  seg->data_size = data_size;
  seg->data_writable = data_fd >= 0 && data_mode == O_RDWR;

  seg->meta_fd = fcntl (meta_fd, F_DUPFD_CLOEXEC, 0);
  if (seg->meta_fd < 0)
    goto errno_failed;
  ret = map_file (seg->meta_fd, meta_size, true, &seg->meta);
  if (ret < 0)
    goto failed;

  /* An empty data file is no data file, as zc_segment_create() makes it. */
  if (data_size > 0) {
    seg->data_fd = fcntl (data_fd, F_DUPFD_CLOEXEC, 0);
    if (seg->data_fd < 0)
      goto errno_failed;
    ret = map_file (seg->data_fd, data_size, seg->data_writable, &seg->data);
    if (ret < 0)
      goto failed;
  }

  *out = seg;
  return 0;

errno_failed:
  ret = -errno;
failed:
  zc_segment_close (seg);
  return ret;
}

void
zc_segment_close (zc_segment_t * seg)
{
  if (seg == NULL)
    return;
  if (seg->data)
    munmap (seg->data, (size_t) seg->data_size);
  if (seg->meta)
    munmap (seg->meta, (size_t) seg->meta_size);
  if (seg->data_fd >= 0)
    close (seg->data_fd);
  if (seg->meta_fd >= 0)
    close (seg->meta_fd);
  free (seg);
}

void *
zc_segment_meta (const zc_segment_t * seg)
{
  return seg ? seg->meta : NULL;
}

uint64_t
zc_segment_meta_size (const zc_segment_t * seg)
{
  return seg ? seg->meta_size : 0;
}

void *
zc_segment_data (const zc_segment_t * seg)
{
  return seg ? seg->data : NULL;
}

uint64_t
zc_segment_data_size (const zc_segment_t * seg)
{
  return seg ? seg->data_size : 0;
}

bool
zc_segment_data_writable (const zc_segment_t * seg)
{
  return seg ? seg->data_writable : false;
}

/* New descriptors of both files for a peer: the data one either shared
 * read-write (a dup) or reopened read-only. */
static int
peer_fds (const zc_segment_t * seg, bool data_readonly, int *meta_fd,
    int *data_fd)
{
  char path[64];
  int m, d = -1, err;

  m = fcntl (seg->meta_fd, F_DUPFD_CLOEXEC, 0);
  if (m < 0)
    return -errno;
  if (seg->data_fd >= 0) {
    if (data_readonly) {
      /* A dup would share our O_RDWR open file description; a reopen gets
       * a read-only one of the same memory, and mmap(PROT_WRITE,
       * MAP_SHARED) of it fails with EACCES in the reader, whatever the
       * reader does. */
      snprintf (path, sizeof (path), "/proc/self/fd/%d", seg->data_fd);
      d = open (path, O_RDONLY | O_CLOEXEC);
    } else {
      d = fcntl (seg->data_fd, F_DUPFD_CLOEXEC, 0);
    }
    if (d < 0) {
      err = -errno;
      close (m);
      return err;
    }
  }
  *meta_fd = m;
  *data_fd = d;
  return 0;
}

int
zc_segment_reader_fds (const zc_segment_t * seg, int *meta_fd, int *data_fd)
{
  if (seg == NULL || meta_fd == NULL || data_fd == NULL)
    return -EINVAL;
  return peer_fds (seg, true, meta_fd, data_fd);
}

int
zc_segment_writer_fds (const zc_segment_t * seg, int *meta_fd, int *data_fd)
{
  if (seg == NULL || meta_fd == NULL || data_fd == NULL)
    return -EINVAL;
  if (!seg->data_writable)
    return ZC_EREADONLY;
  return peer_fds (seg, false, meta_fd, data_fd);
}

int
zc_segment_send_fds (int sock, int meta_fd, int data_fd)
{
  struct zc_segment_fds_msg msg;
  union
  {
    char buf[CMSG_SPACE (sizeof (int) * ZC_SEGMENT_FDS_MAX)];
    struct cmsghdr align;
  } control;
  struct iovec iov;
  struct msghdr mh;
  struct cmsghdr *cmsg;
  int fds[ZC_SEGMENT_FDS_MAX];
  uint32_t n_fds;
  ssize_t n;

  if (sock < 0 || meta_fd < 0 || data_fd < -1)
    return -EINVAL;

  fds[0] = meta_fd;
  fds[1] = data_fd;
  n_fds = data_fd >= 0 ? 2 : 1;

  memset (&msg, 0, sizeof (msg));
  msg.magic = ZC_SEGMENT_FDS_MAGIC;
  msg.n_fds = n_fds;

  memset (&control, 0, sizeof (control));
  iov.iov_base = &msg;
  iov.iov_len = sizeof (msg);
  memset (&mh, 0, sizeof (mh));
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control.buf;
  mh.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
  cmsg = CMSG_FIRSTHDR (&mh);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
  memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);

  /* MSG_NOSIGNAL: a peer that went away is an error code, not SIGPIPE. */
  do
    n = sendmsg (sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  /* The descriptors ride with the first byte; a short send of 8 bytes
   * cannot really happen, but the receiver would refuse it. */
  if ((size_t) n != sizeof (msg))
    return -EIO;
  return 0;
}

static int64_t
monotonic_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until @sock is readable or hung up.  Returns 0, -ETIMEDOUT or a
 * negative errno. */
static int
wait_readable (int sock, int timeout_ms)
{
  int64_t deadline = timeout_ms >= 0 ? monotonic_ms () + timeout_ms : 0;
  struct pollfd pfd = {.fd = sock,.events = POLLIN };
  int wait_ms = timeout_ms, r;

  for (;;) {
    r = poll (&pfd, 1, wait_ms);
    if (r > 0)
      return (pfd.revents & POLLNVAL) ? -EBADF : 0;
    if (r == 0)
      return -ETIMEDOUT;
    if (errno != EINTR)
      return -errno;
    if (timeout_ms >= 0) {
      int64_t left = deadline - monotonic_ms ();
      wait_ms = left > 0 ? (int) left : 0;
    }
  }
}

int
zc_segment_recv_fds (int sock, int timeout_ms, int *meta_fd, int *data_fd)
{
  /* One byte more than a valid payload, so that a longer one shows. */
  uint8_t payload[sizeof (struct zc_segment_fds_msg) + 1];
  struct zc_segment_fds_msg msg;
  union
  {
    char buf[CMSG_SPACE (sizeof (int) * ZC_RECV_FDS_ROOM)];
    struct cmsghdr align;
  } control;
  struct iovec iov;
  struct msghdr mh;
  struct cmsghdr *cmsg;
  int fds[ZC_RECV_FDS_ROOM];
  unsigned n_fds = 0, n_rights = 0, i;
  ssize_t n;
  int ret;

  if (sock < 0 || meta_fd == NULL || data_fd == NULL || timeout_ms < -1)
    return -EINVAL;

  for (;;) {
    ret = wait_readable (sock, timeout_ms);
    if (ret < 0)
      return ret;

    memset (&control, 0, sizeof (control));
    iov.iov_base = payload;
    iov.iov_len = sizeof (payload);
    memset (&mh, 0, sizeof (mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof (control.buf);
    /* MSG_DONTWAIT: another reader of the socket may have taken what poll
     * saw; then we wait again instead of blocking past the timeout. */
    n = recvmsg (sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0)
      break;
    if (errno != EINTR && errno != EAGAIN)
      return errno == EPIPE ? -ECONNRESET : -errno;
  }

  /* Take every descriptor the kernel installed before judging anything, so
   * that each error path below can close them all. */
  for (cmsg = CMSG_FIRSTHDR (&mh); cmsg; cmsg = CMSG_NXTHDR (&mh, cmsg)) {
    size_t len, k;

    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
      continue;                 /* e.g. credentials, if SO_PASSCRED is on */
    n_rights++;
    len = cmsg->cmsg_len > CMSG_LEN (0) ? cmsg->cmsg_len - CMSG_LEN (0) : 0;
    for (k = 0; k + sizeof (int) <= len; k += sizeof (int)) {
      int fd;

      memcpy (&fd, CMSG_DATA (cmsg) + k, sizeof (int));
      if (n_fds < ZC_RECV_FDS_ROOM)
        fds[n_fds++] = fd;
      else
        close (fd);             /* cannot happen: the buffer bounds it */
    }
  }

  if (n == 0 && n_fds == 0) {
    ret = -ECONNRESET;
    goto refuse;
  }
  ret = -EPROTO;
  if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
    goto refuse;
  if ((size_t) n != sizeof (msg))
    goto refuse;
  memcpy (&msg, payload, sizeof (msg));
  if (msg.magic != ZC_SEGMENT_FDS_MAGIC)
    goto refuse;
  if (msg.n_fds < 1 || msg.n_fds > ZC_SEGMENT_FDS_MAX)
    goto refuse;
  if (n_rights != 1 || n_fds != msg.n_fds)
    goto refuse;

  *meta_fd = fds[0];
  *data_fd = n_fds == 2 ? fds[1] : -1;
  return 0;

refuse:
  for (i = 0; i < n_fds; i++)
    close (fds[i]);
  return ret;
}
