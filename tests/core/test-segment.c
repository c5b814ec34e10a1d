/* Tests of lib/segment.c: sealed memory files, read-only data for readers,
 * and the descriptor handoff over a Unix socket, with a real peer process
 * and with hostile messages. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <zc/segment.h>

#include "zc-test.h"

#define META_SIZE 4096u
#define DATA_SIZE (64u * 1024u)

/* Entries of /proc/self/fd, to prove that nothing leaked. */
static int
count_open_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *e;
  int n = 0;

  ZC_CHECK (d != NULL);
  while ((e = readdir (d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir (d);
  return n;
}

static uint8_t
pattern_byte (uint64_t i)
{
  return (uint8_t) (i * 131u + 7u);
}

static void
fill_pattern (uint8_t * p, uint64_t size)
{
  for (uint64_t i = 0; i < size; i++)
    p[i] = pattern_byte (i);
}

static int
has_pattern (const uint8_t * p, uint64_t size)
{
  for (uint64_t i = 0; i < size; i++)
    if (p[i] != pattern_byte (i))
      return 0;
  return 1;
}

static zc_segment_t *
create_with_pattern (void)
{
  zc_segment_t *seg;

  ZC_CHECK_OK (zc_segment_create ("test", META_SIZE, DATA_SIZE, &seg));
  fill_pattern (zc_segment_data (seg), DATA_SIZE);
  return seg;
}

/* Starts this binary as a peer process with @role, handing it @fd. */
static pid_t
spawn_peer (const char *role, int fd)
{
  pid_t pid = fork ();

  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    char arg[16];

    fcntl (fd, F_SETFD, 0);     /* inherited across exec */
    snprintf (arg, sizeof (arg), "%d", fd);
    execl (zc_test_self (), zc_test_self (), role, arg, (char *) NULL);
    _exit (127);
  }
  return pid;
}

/* Sends a hand-made message: any payload, any descriptors. */
static void
send_raw (int sock, const void *payload, size_t len, const int *fds,
    unsigned n_fds)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int) * 32)];
    struct cmsghdr align;
  } control;
  struct iovec iov = { (void *) payload, len };
  struct msghdr mh;

  ZC_CHECK (n_fds <= 32);
  memset (&control, 0, sizeof (control));
  memset (&mh, 0, sizeof (mh));
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (n_fds > 0) {
    struct cmsghdr *cmsg;

    mh.msg_control = control.buf;
    mh.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
    cmsg = CMSG_FIRSTHDR (&mh);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
    memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);
  }
  ZC_CHECK_EQ (sendmsg (sock, &mh, MSG_NOSIGNAL), (ssize_t) len);
}

/* The wire payload, as segment.c defines it ("ZCFD", count). */
struct wire_msg
{
  uint32_t magic;
  uint32_t n_fds;
};
#define WIRE_MAGIC UINT32_C (0x4446435a)

/* Sends @msg with @n_fds descriptors and checks that the receiver refuses
 * it with @expected and leaves no descriptor behind. */
static void
check_refused (const void *payload, size_t len, unsigned n_fds, int expected)
{
  int sv[2], fds[32], before, meta = -7, data = -7;

  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  for (unsigned i = 0; i < n_fds; i++)
    ZC_CHECK ((fds[i] = memfd_create ("hostile", MFD_CLOEXEC)) >= 0);
  send_raw (sv[0], payload, len, fds, n_fds);
  for (unsigned i = 0; i < n_fds; i++)
    close (fds[i]);

  before = count_open_fds ();
  ZC_CHECK_EQ (zc_segment_recv_fds (sv[1], 1000, &meta, &data), expected);
  ZC_CHECK_EQ (count_open_fds (), before);
  ZC_CHECK_EQ (meta, -7);       /* outputs untouched on failure */
  ZC_CHECK_EQ (data, -7);
  close (sv[0]);
  close (sv[1]);
}

static void
test_create_maps_both_files_with_their_sizes (void)
{
  zc_segment_t *seg;
  uint8_t *meta, *data;

  ZC_CHECK_OK (zc_segment_create ("test", META_SIZE, DATA_SIZE, &seg));
  ZC_CHECK_EQ (zc_segment_meta_size (seg), META_SIZE);
  ZC_CHECK_EQ (zc_segment_data_size (seg), DATA_SIZE);
  ZC_CHECK (zc_segment_data_writable (seg));
  meta = zc_segment_meta (seg);
  data = zc_segment_data (seg);
  ZC_CHECK (meta != NULL && data != NULL);
  for (unsigned i = 0; i < META_SIZE; i++)
    ZC_CHECK_EQ (meta[i], 0);
  for (unsigned i = 0; i < DATA_SIZE; i++)
    ZC_CHECK_EQ (data[i], 0);
  meta[META_SIZE - 1] = 1;      /* both writable to their last byte */
  data[DATA_SIZE - 1] = 1;
  zc_segment_close (seg);
}

static void
test_create_preallocates_both_files (void)
{
  zc_segment_t *seg;
  int meta_fd, data_fd;
  struct stat st;

  ZC_CHECK_OK (zc_segment_create ("prealloc", 64 * 1024, 1024 * 1024, &seg));
  ZC_CHECK_OK (zc_segment_writer_fds (seg, &meta_fd, &data_fd));
  /* Allocated blocks, not just a size: every page exists before use. */
  ZC_CHECK_OK (fstat (meta_fd, &st));
  ZC_CHECK ((uint64_t) st.st_blocks * 512 >= 64 * 1024);
  ZC_CHECK_OK (fstat (data_fd, &st));
  ZC_CHECK ((uint64_t) st.st_blocks * 512 >= 1024 * 1024);
  close (meta_fd);
  close (data_fd);
  zc_segment_close (seg);
}

static void
test_segment_without_data_has_no_data_file (void)
{
  zc_segment_t *seg;
  int meta_fd, data_fd;

  ZC_CHECK_OK (zc_segment_create (NULL, META_SIZE, 0, &seg));
  ZC_CHECK (zc_segment_data (seg) == NULL);
  ZC_CHECK_EQ (zc_segment_data_size (seg), 0);
  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  ZC_CHECK (meta_fd >= 0);
  ZC_CHECK_EQ (data_fd, -1);
  close (meta_fd);
  zc_segment_close (seg);
}

static void
test_zero_meta_size_is_invalid (void)
{
  zc_segment_t *seg = NULL;

  ZC_CHECK_EQ (zc_segment_create ("test", 0, DATA_SIZE, &seg), -EINVAL);
  ZC_CHECK (seg == NULL);
  ZC_CHECK_EQ (zc_segment_create ("test", META_SIZE, 0, NULL), -EINVAL);
}

static void
test_segment_above_one_gib_is_too_big (void)
{
  zc_segment_t *seg = NULL;

  ZC_CHECK_EQ (zc_segment_create ("test", 4096, ZC_SEGMENT_MAX_SIZE, &seg),
      -EFBIG);
  ZC_CHECK_EQ (zc_segment_create ("test", ZC_SEGMENT_MAX_SIZE + 1, 0, &seg),
      -EFBIG);
  /* A sum that wraps around 2^64 is still too big. */
  ZC_CHECK_EQ (zc_segment_create ("test", 4096, UINT64_MAX - 100, &seg),
      -EFBIG);
  ZC_CHECK (seg == NULL);
}

static void
test_files_are_sealed_against_resizing (void)
{
  zc_segment_t *seg;
  int fds[2], seals;

  ZC_CHECK_OK (zc_segment_create ("test", META_SIZE, DATA_SIZE, &seg));
  ZC_CHECK_OK (zc_segment_writer_fds (seg, &fds[0], &fds[1]));
  for (int i = 0; i < 2; i++) {
    seals = fcntl (fds[i], F_GET_SEALS);
    ZC_CHECK_EQ (seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
    errno = 0;
    ZC_CHECK_EQ (ftruncate (fds[i], 1), -1);
    ZC_CHECK_EQ (errno, EPERM);
    ZC_CHECK_EQ (ftruncate (fds[i], 1 << 20), -1);
    ZC_CHECK_EQ (errno, EPERM);
    /* F_SEAL_SEAL: the seals cannot be changed any more either. */
    ZC_CHECK_EQ (fcntl (fds[i], F_ADD_SEALS, F_SEAL_WRITE), -1);
    ZC_CHECK_EQ (errno, EPERM);
    close (fds[i]);
  }
  zc_segment_close (seg);
}

static void
test_unsealed_memfd_is_refused (void)
{
  zc_segment_t *seg = NULL;
  int plain, grow_only;

  plain = memfd_create ("plain", MFD_CLOEXEC);
  ZC_CHECK (plain >= 0);
  ZC_CHECK_OK (ftruncate (plain, META_SIZE));
  ZC_CHECK_EQ (zc_segment_open (plain, -1, &seg), ZC_ESEALS);

  /* Sealed, but a peer could still shrink it under our mapping. */
  grow_only = memfd_create ("grow-only", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  ZC_CHECK (grow_only >= 0);
  ZC_CHECK_OK (ftruncate (grow_only, META_SIZE));
  ZC_CHECK_OK (fcntl (grow_only, F_ADD_SEALS, F_SEAL_GROW));
  ZC_CHECK_EQ (zc_segment_open (grow_only, -1, &seg), ZC_ESEALS);

  /* An unsealed data file is refused just the same. */
  ZC_CHECK_OK (fcntl (grow_only, F_ADD_SEALS, F_SEAL_SHRINK));
  ZC_CHECK_EQ (zc_segment_open (grow_only, plain, &seg), ZC_ESEALS);
  ZC_CHECK (seg == NULL);
  close (plain);
  close (grow_only);
}

static void
test_pipe_is_not_a_memory_file (void)
{
  zc_segment_t *seg = NULL;
  int p[2];

  ZC_CHECK_OK (pipe2 (p, O_CLOEXEC));
  ZC_CHECK_EQ (zc_segment_open (p[0], -1, &seg), -EINVAL);
  ZC_CHECK (seg == NULL);
  close (p[0]);
  close (p[1]);
}

static void
test_open_takes_sizes_from_the_files (void)
{
  zc_segment_t *seg, *peer;
  int meta_fd, data_fd, before;

  seg = create_with_pattern ();
  before = count_open_fds ();
  ZC_CHECK_OK (zc_segment_writer_fds (seg, &meta_fd, &data_fd));
  ZC_CHECK_OK (zc_segment_open (meta_fd, data_fd, &peer));
  /* The caller keeps its descriptors: open duplicated them. */
  close (meta_fd);
  close (data_fd);
  ZC_CHECK_EQ (zc_segment_meta_size (peer), META_SIZE);
  ZC_CHECK_EQ (zc_segment_data_size (peer), DATA_SIZE);
  ZC_CHECK (zc_segment_data_writable (peer));
  ZC_CHECK (has_pattern (zc_segment_data (peer), DATA_SIZE));
  /* Same memory, not a copy. */
  ((uint8_t *) zc_segment_meta (peer))[10] = 42;
  ZC_CHECK_EQ (((uint8_t *) zc_segment_meta (seg))[10], 42);
  zc_segment_close (peer);
  ZC_CHECK_EQ (count_open_fds (), before);
  zc_segment_close (seg);
}

static void
test_meta_opened_read_only_is_refused (void)
{
  zc_segment_t *seg, *peer = NULL;
  int meta_fd, data_fd, ro;
  char path[64];

  seg = create_with_pattern ();
  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  snprintf (path, sizeof (path), "/proc/self/fd/%d", meta_fd);
  ro = open (path, O_RDONLY | O_CLOEXEC);
  ZC_CHECK (ro >= 0);
  ZC_CHECK_EQ (zc_segment_open (ro, data_fd, &peer), -EACCES);
  ZC_CHECK (peer == NULL);
  close (ro);
  close (meta_fd);
  close (data_fd);
  zc_segment_close (seg);
}

static void
test_reader_data_fd_refuses_writable_mapping (void)
{
  zc_segment_t *seg, *reader;
  int meta_fd, data_fd;
  void *p;

  seg = create_with_pattern ();
  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  ZC_CHECK_EQ (fcntl (data_fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  ZC_CHECK (fcntl (data_fd, F_GETFD) & FD_CLOEXEC);

  errno = 0;
  p = mmap (NULL, DATA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, data_fd, 0);
  ZC_CHECK (p == MAP_FAILED);
  ZC_CHECK_EQ (errno, EACCES);

  /* Nor can a read-only mapping be upgraded afterwards. */
  ZC_CHECK_OK (zc_segment_open (meta_fd, data_fd, &reader));
  ZC_CHECK (!zc_segment_data_writable (reader));
  errno = 0;
  ZC_CHECK_EQ (mprotect (zc_segment_data (reader), DATA_SIZE,
          PROT_READ | PROT_WRITE), -1);
  ZC_CHECK_EQ (errno, EACCES);
  ZC_CHECK_EQ (zc_segment_writer_fds (reader, &meta_fd, &data_fd),
      ZC_EREADONLY);

  zc_segment_close (reader);
  close (meta_fd);
  close (data_fd);
  zc_segment_close (seg);
}

static void
test_reader_write_to_data_dies_with_sigsegv (void)
{
  zc_segment_t *seg, *reader;
  int meta_fd, data_fd, status;
  volatile uint8_t *data;
  pid_t pid;

  seg = create_with_pattern ();
  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  ZC_CHECK_OK (zc_segment_open (meta_fd, data_fd, &reader));
  close (meta_fd);
  close (data_fd);

  data = zc_segment_data (reader);
  ZC_CHECK (has_pattern ((const uint8_t *) data, DATA_SIZE));

  pid = fork ();
  ZC_CHECK (pid >= 0);
  if (pid == 0) {
    /* Default action, even under a sanitizer that catches SIGSEGV. */
    struct sigaction sa = {.sa_handler = SIG_DFL };
    sigaction (SIGSEGV, &sa, NULL);
    data[100] = 0xff;
    _exit (0);                  /* reached only if the write went through */
  }
  status = zc_test_wait (pid, 60);
  ZC_CHECK (status != -1);
  ZC_CHECK (WIFSIGNALED (status));
  ZC_CHECK_EQ (WTERMSIG (status), SIGSEGV);
  /* And the frame is intact. */
  ZC_CHECK (has_pattern (zc_segment_data (seg), DATA_SIZE));

  zc_segment_close (reader);
  zc_segment_close (seg);
}

/* Peer role: receives the descriptors, maps them, checks the pattern and
 * that data is read-only, acknowledges in meta.  Exit status says what
 * failed. */
static int
peer_map_main (int sock)
{
  zc_segment_t *seg;
  int meta_fd, data_fd, ret;
  uint8_t *meta;

  ret = zc_segment_recv_fds (sock, 30000, &meta_fd, &data_fd);
  if (ret < 0)
    return 10;
  ret = zc_segment_open (meta_fd, data_fd, &seg);
  close (meta_fd);
  close (data_fd);
  if (ret < 0)
    return 11;
  if (zc_segment_data_size (seg) != DATA_SIZE ||
      zc_segment_meta_size (seg) != META_SIZE)
    return 12;
  if (zc_segment_data_writable (seg))
    return 13;
  if (!has_pattern (zc_segment_data (seg), DATA_SIZE))
    return 14;
  meta = zc_segment_meta (seg);
  if (meta[0] != 0x5a)
    return 15;
  meta[1] = 0xa5;               /* meta is read-write for everybody */
  zc_segment_close (seg);
  return 0;
}

static void
test_fds_cross_to_a_separate_process (void)
{
  zc_segment_t *seg;
  int sv[2], meta_fd, data_fd, status;
  uint8_t *meta;
  pid_t pid;

  seg = create_with_pattern ();
  meta = zc_segment_meta (seg);
  meta[0] = 0x5a;
  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  pid = spawn_peer ("--peer-map", sv[1]);
  close (sv[1]);

  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  ZC_CHECK_OK (zc_segment_send_fds (sv[0], meta_fd, data_fd));
  close (meta_fd);
  close (data_fd);

  status = zc_test_wait (pid, 60);
  ZC_CHECK (status != -1);
  ZC_CHECK (WIFEXITED (status));
  ZC_CHECK_EQ (WEXITSTATUS (status), 0);
  ZC_CHECK_EQ (meta[1], 0xa5);
  close (sv[0]);
  zc_segment_close (seg);
}

static void
test_send_recv_round_trip_without_data (void)
{
  zc_segment_t *seg;
  int sv[2], meta_fd, data_fd, got_meta, got_data, before;
  struct stat a, b;

  ZC_CHECK_OK (zc_segment_create ("test", META_SIZE, 0, &seg));
  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  before = count_open_fds ();
  ZC_CHECK_OK (zc_segment_send_fds (sv[0], meta_fd, data_fd));
  ZC_CHECK_OK (zc_segment_recv_fds (sv[1], 1000, &got_meta, &got_data));
  ZC_CHECK_EQ (count_open_fds (), before + 1);
  ZC_CHECK_EQ (got_data, -1);
  ZC_CHECK (fcntl (got_meta, F_GETFD) & FD_CLOEXEC);
  ZC_CHECK_OK (fstat (meta_fd, &a));
  ZC_CHECK_OK (fstat (got_meta, &b));
  ZC_CHECK (a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  close (got_meta);
  close (meta_fd);
  close (sv[0]);
  close (sv[1]);
  zc_segment_close (seg);
}

static void
test_recv_refuses_wrong_magic (void)
{
  struct wire_msg msg = { WIRE_MAGIC ^ 1, 2 };

  check_refused (&msg, sizeof (msg), 2, -EPROTO);
}

static void
test_recv_refuses_wrong_payload_length (void)
{
  struct wire_msg msg = { WIRE_MAGIC, 2 };
  uint8_t longer[12] = { 0 };

  memcpy (longer, &msg, sizeof (msg));
  check_refused (&msg, 4, 2, -EPROTO);
  check_refused (longer, sizeof (longer), 2, -EPROTO);
}

static void
test_recv_refuses_message_without_fds (void)
{
  struct wire_msg msg = { WIRE_MAGIC, 2 };

  check_refused (&msg, sizeof (msg), 0, -EPROTO);
}

static void
test_recv_refuses_bad_fd_count (void)
{
  struct wire_msg one = { WIRE_MAGIC, 1 }, two = { WIRE_MAGIC, 2 };
  struct wire_msg zero = { WIRE_MAGIC, 0 }, many = { WIRE_MAGIC, 3 };

  /* More descriptors than announced. */
  check_refused (&one, sizeof (one), 2, -EPROTO);
  check_refused (&two, sizeof (two), 3, -EPROTO);
  /* Fewer. */
  check_refused (&two, sizeof (two), 1, -EPROTO);
  /* Counts no valid message has. */
  check_refused (&zero, sizeof (zero), 1, -EPROTO);
  check_refused (&many, sizeof (many), 3, -EPROTO);
  /* More than the receive buffer holds: truncated control data. */
  check_refused (&two, sizeof (two), 20, -EPROTO);
}

static void
test_recv_reports_peer_hangup (void)
{
  int sv[2], meta = -7, data = -7, before;

  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  close (sv[0]);
  before = count_open_fds ();
  ZC_CHECK_EQ (zc_segment_recv_fds (sv[1], 1000, &meta, &data), -ECONNRESET);
  ZC_CHECK_EQ (count_open_fds (), before);
  ZC_CHECK_EQ (meta, -7);
  close (sv[1]);
}

static void
test_recv_times_out_after_its_timeout (void)
{
  struct timespec t0, t1;
  int sv[2], meta, data;
  int64_t elapsed_ms;

  ZC_CHECK_OK (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  clock_gettime (CLOCK_MONOTONIC, &t0);
  ZC_CHECK_EQ (zc_segment_recv_fds (sv[1], 150, &meta, &data), -ETIMEDOUT);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
      (t1.tv_nsec - t0.tv_nsec) / 1000000;
  ZC_CHECK (elapsed_ms >= 149); /* at least its duration; no upper bound */
  ZC_CHECK_EQ (zc_segment_recv_fds (sv[1], 0, &meta, &data), -ETIMEDOUT);
  close (sv[0]);
  close (sv[1]);
}

/* Names in /dev/shm, as one string, to compare before and after. */
static void
list_dev_shm (char *buf, size_t size)
{
  DIR *d = opendir ("/dev/shm");
  struct dirent *e;
  size_t len = 0;

  buf[0] = '\0';
  if (d == NULL)
    return;                     /* no /dev/shm: nothing can appear in it */
  while ((e = readdir (d)) != NULL) {
    if (zc_test_foreign_shm (e->d_name))
      continue;
    int n = snprintf (buf + len, size - len, "%s/", e->d_name);
    ZC_CHECK (n > 0 && (size_t) n < size - len);
    len += (size_t) n;
  }
  closedir (d);
}

static void
test_nothing_appears_in_dev_shm (void)
{
  static char before[65536], during[65536], after[65536];
  zc_segment_t *seg, *peer;
  int meta_fd, data_fd;
  char path[64], target[256];
  ssize_t n;

  list_dev_shm (before, sizeof (before));
  seg = create_with_pattern ();
  ZC_CHECK_OK (zc_segment_reader_fds (seg, &meta_fd, &data_fd));
  ZC_CHECK_OK (zc_segment_open (meta_fd, data_fd, &peer));
  list_dev_shm (during, sizeof (during));
  ZC_CHECK (strcmp (before, during) == 0);

  /* Anonymous memory files: no path to unlink, nothing to leak. */
  snprintf (path, sizeof (path), "/proc/self/fd/%d", data_fd);
  n = readlink (path, target, sizeof (target) - 1);
  ZC_CHECK (n > 0);
  target[n] = '\0';
  ZC_CHECK (strncmp (target, "/memfd:zc:test:data", 19) == 0);

  close (meta_fd);
  close (data_fd);
  zc_segment_close (peer);
  zc_segment_close (seg);
  list_dev_shm (after, sizeof (after));
  ZC_CHECK (strcmp (before, after) == 0);
}

static void
test_bad_arguments_are_invalid (void)
{
  zc_segment_t *seg;
  int a, b;

  ZC_CHECK_EQ (zc_segment_open (-1, -1, &seg), -EINVAL);
  ZC_CHECK_EQ (zc_segment_reader_fds (NULL, &a, &b), -EINVAL);
  ZC_CHECK_EQ (zc_segment_send_fds (-1, 0, -1), -EINVAL);
  ZC_CHECK_EQ (zc_segment_recv_fds (0, 0, NULL, &b), -EINVAL);
  zc_segment_close (NULL);
}

static const zc_test_case tests[] = {
  ZC_TEST (test_create_maps_both_files_with_their_sizes),
  ZC_TEST (test_create_preallocates_both_files),
  ZC_TEST (test_segment_without_data_has_no_data_file),
  ZC_TEST (test_zero_meta_size_is_invalid),
  ZC_TEST (test_segment_above_one_gib_is_too_big),
  ZC_TEST (test_files_are_sealed_against_resizing),
  ZC_TEST (test_unsealed_memfd_is_refused),
  ZC_TEST (test_pipe_is_not_a_memory_file),
  ZC_TEST (test_open_takes_sizes_from_the_files),
  ZC_TEST (test_meta_opened_read_only_is_refused),
  ZC_TEST (test_reader_data_fd_refuses_writable_mapping),
  ZC_TEST (test_reader_write_to_data_dies_with_sigsegv),
  ZC_TEST (test_fds_cross_to_a_separate_process),
  ZC_TEST (test_send_recv_round_trip_without_data),
  ZC_TEST (test_recv_refuses_wrong_magic),
  ZC_TEST (test_recv_refuses_wrong_payload_length),
  ZC_TEST (test_recv_refuses_message_without_fds),
  ZC_TEST (test_recv_refuses_bad_fd_count),
  ZC_TEST (test_recv_reports_peer_hangup),
  ZC_TEST (test_recv_times_out_after_its_timeout),
  ZC_TEST (test_nothing_appears_in_dev_shm),
  ZC_TEST (test_bad_arguments_are_invalid),
};

int
main (int argc, char **argv)
{
  if (argc > 2 && strcmp (argv[1], "--peer-map") == 0)
    return peer_map_main (atoi (argv[2]));
  return zc_test_main (argc, argv, tests, ZC_N_TESTS (tests));
}
