/* gst-zerocopy core library: sending and receiving control messages.
 *
 * The receiving side is where a hostile peer talks to us: the datagram is
 * read whole (MSG_TRUNC reports its real length, MSG_CTRUNC lost
 * descriptors), control data other than one SCM_RIGHTS block is refused,
 * and the header is checked before the caller sees anything.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zc/error.h>

#include "wire.h"

int
zc_wire_send (int sock, uint16_t type, uint32_t ctl_seq, void *body,
    size_t length, const int *fds, unsigned n_fds)
{
  struct zc_wire_header *h = body;
  union
  {
    char buf[CMSG_SPACE (ZC_WIRE_MAX_FDS * sizeof (int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = { body, length };
  struct msghdr msg = { 0 };
  ssize_t n;

  if (length < sizeof (*h) || length > ZC_WIRE_MAX_SIZE
      || n_fds > ZC_WIRE_MAX_FDS)
    return -EINVAL;
  h->magic = ZC_WIRE_MAGIC;
  h->version = ZC_WIRE_VERSION;
  h->type = type;
  h->length = (uint32_t) length;
  h->ctl_seq = ctl_seq;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (n_fds > 0) {
    struct cmsghdr *cmsg;

    memset (&control, 0, sizeof (control));
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE (n_fds * sizeof (int));
    cmsg = CMSG_FIRSTHDR (&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN (n_fds * sizeof (int));
    memcpy (CMSG_DATA (cmsg), fds, n_fds * sizeof (int));
  }
  do {
    /* MSG_NOSIGNAL: a consumer that went away must not SIGPIPE us. */
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EPIPE ? -ECONNRESET : -errno;
  return (size_t) n == length ? 0 : -EPROTO;
}

void
zc_wire_close_fds (int fds[ZC_WIRE_MAX_FDS], unsigned *n_fds)
{
  unsigned i;

  for (i = 0; i < ZC_WIRE_MAX_FDS; i++) {
    if (fds[i] >= 0)
      close (fds[i]);
    fds[i] = -1;
  }
  *n_fds = 0;
}

/* Takes the descriptors out of @msg; returns -EPROTO for anything but
 * SCM_RIGHTS blocks carrying at most ZC_WIRE_MAX_FDS in all (the extra
 * ones are closed all the same). */
static int
take_fds (struct msghdr *msg, int fds[ZC_WIRE_MAX_FDS], unsigned *n_fds)
{
  struct cmsghdr *cmsg;
  int ret = 0;

  for (cmsg = CMSG_FIRSTHDR (msg); cmsg; cmsg = CMSG_NXTHDR (msg, cmsg)) {
    size_t count, i;

    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
      ret = -EPROTO;
      continue;
    }
    count = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);
    for (i = 0; i < count; i++) {
      int fd;

      memcpy (&fd, CMSG_DATA (cmsg) + i * sizeof (int), sizeof (int));
      if (*n_fds < ZC_WIRE_MAX_FDS)
        fds[(*n_fds)++] = fd;
      else {
        close (fd);
        ret = -EPROTO;
      }
    }
  }
  return ret;
}

int
zc_wire_recv (int sock, int timeout_ms, void *buf, size_t size,
    int fds[ZC_WIRE_MAX_FDS], unsigned *n_fds)
{
  union
  {
    /* Room for more than we accept, so that an excess is seen (and
     * closed) rather than silently cut by the kernel. */
    char buf[CMSG_SPACE (16 * sizeof (int))];
    struct cmsghdr align;
  } control;
  struct zc_wire_header h;
  struct iovec iov = { buf, size };
  struct msghdr msg = { 0 };
  ssize_t n;
  int ret;

  for (unsigned i = 0; i < ZC_WIRE_MAX_FDS; i++)
    fds[i] = -1;
  *n_fds = 0;
  if (size < ZC_WIRE_MAX_SIZE)
    return -EINVAL;

  if (timeout_ms != 0) {
    struct pollfd pfd = { sock, POLLIN, 0 };

    do {
      ret = poll (&pfd, 1, timeout_ms);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0)
      return -errno;
    if (ret == 0)
      return -ETIMEDOUT;
  }

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof (control.buf);
  do {
    n = recvmsg (sock, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
  if (n == 0)
    return -ECONNRESET;         /* orderly shutdown: the peer left */

  ret = take_fds (&msg, fds, n_fds);
  if (ret == 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
    ret = -EPROTO;
  if (ret == 0 && (size_t) n < sizeof (h))
    ret = -EPROTO;
  if (ret == 0) {
    memcpy (&h, buf, sizeof (h));
    if (h.magic != ZC_WIRE_MAGIC)
      ret = -EPROTO;
    else if (h.version != ZC_WIRE_VERSION)
      ret = ZC_EVERSION;
    else if (h.length != (uint64_t) n)
      ret = -EPROTO;
  }
  if (ret < 0) {
    zc_wire_close_fds (fds, n_fds);
    return ret;
  }
  return (int) n;
}

bool
zc_wire_is_eventfd (int fd)
{
  char link[64], target[64];
  ssize_t n;

  snprintf (link, sizeof (link), "/proc/self/fd/%d", fd);
  n = readlink (link, target, sizeof (target) - 1);
  if (n <= 0)
    return false;
  target[n] = '\0';
  return strcmp (target, "anon_inode:[eventfd]") == 0;
}
