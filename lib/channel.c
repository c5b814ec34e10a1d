/* gst-zerocopy core library: channel names and where their sockets live.
 *
 * Names come from users (element properties, command lines) and are
 * hostile until validated: a '/' or '..' in a name would otherwise reach
 * outside the socket directory.  The directory itself may be made by
 * someone else first when it falls back to the shared /tmp, so it is used
 * only when it is ours alone.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zc/channel.h>

#include "endpoint.h"

int
zc_channel_name_validate (const char *name)
{
  size_t n;

  if (name == NULL)
    return -EINVAL;
  for (n = 0; name[n] != '\0'; n++) {
    char c = name[n];

    if (n >= ZC_CHANNEL_NAME_MAX)
      return -EINVAL;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return -EINVAL;
  }
  return n == 0 ? -EINVAL : 0;
}

/* Creates @dir 0700 if missing; accepts it only if it is ours alone. */
static int
ensure_private_dir (const char *dir)
{
  struct stat st;

  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return -errno;
  /* lstat: a symlink planted in /tmp must not lead us elsewhere. */
  if (lstat (dir, &st) < 0)
    return -errno;
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return -EPERM;
  return 0;
}

int
zc_channel_socket_dir (char *dir, size_t size)
{
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  int n;

  if (dir == NULL || size == 0)
    return -EINVAL;
  if (xdg != NULL && xdg[0] == '/') {
    /* The runtime dir is the user's own (0700, made by the login
     * manager); our subdirectory is checked all the same. */
    n = snprintf (dir, size, "%s/zerocopy", xdg);
  } else {
    n = snprintf (dir, size, "/tmp/zerocopy-%u", (unsigned) geteuid ());
  }
  if (n < 0 || (size_t) n >= size)
    return -ENAMETOOLONG;
  return ensure_private_dir (dir);
}

/* FNV-1a, 64 bits, from @seed: two of them name a long channel.  Not a
 * defence against a chosen collision: the handshake compares full names. */
static uint64_t
fnv1a64 (const char *s, uint64_t seed)
{
  uint64_t h = seed;

  for (; *s != '\0'; s++) {
    h ^= (uint8_t) * s;
    h *= UINT64_C (0x100000001b3);
  }
  return h;
}

int
zc_channel_socket_path (const char *name, char *path, size_t size)
{
  char dir[ZC_SOCKET_PATH_MAX + 1];
  int n, r;

  if (zc_channel_name_validate (name) < 0 || path == NULL)
    return -EINVAL;
  r = zc_channel_socket_dir (dir, sizeof (dir));
  if (r < 0)
    return r;
  n = snprintf (path, size, "%s/%s.sock", dir, name);
  if (n >= 0 && (size_t) n < size && (size_t) n <= ZC_SOCKET_PATH_MAX)
    return 0;
  n = snprintf (path, size, "%s/h-%016llx%016llx.sock", dir,
      (unsigned long long) fnv1a64 (name, UINT64_C (0xcbf29ce484222325)),
      (unsigned long long) fnv1a64 (name, UINT64_C (0x84222325cbf29ce4)));
  if (n < 0 || (size_t) n >= size || (size_t) n > ZC_SOCKET_PATH_MAX)
    return -ENAMETOOLONG;
  return 0;
}

/* A new SOCK_SEQPACKET socket and the address of @path, checked. */
static int
control_socket (const char *path, struct sockaddr_un *addr, int *fd)
{
  if (path == NULL || path[0] == '\0' || fd == NULL)
    return -EINVAL;
  if (strlen (path) > ZC_SOCKET_PATH_MAX)
    return -ENAMETOOLONG;
  memset (addr, 0, sizeof (*addr));
  addr->sun_family = AF_UNIX;
  strcpy (addr->sun_path, path);
  *fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  return *fd < 0 ? -errno : 0;
}

int
zc_channel_connect (const char *path, int *fd)
{
  struct sockaddr_un addr;
  int s, r;

  r = control_socket (path, &addr, &s);
  if (r < 0)
    return r;
  if (connect (s, (struct sockaddr *) &addr, sizeof (addr)) < 0) {
    r = -errno;
    close (s);
    return r;
  }
  *fd = s;
  return 0;
}

int
zc_endpoint_lock_dir (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return -errno;
  while (flock (fd, LOCK_EX) < 0) {
    if (errno != EINTR) {
      int r = -errno;
      close (fd);
      return r;
    }
  }
  return fd;
}

int
zc_endpoint_parent_dir (const char *path, char *dir, size_t size)
{
  const char *slash = strrchr (path, '/');
  size_t n;

  if (slash == NULL) {
    if (size < 2)
      return -ENAMETOOLONG;
    strcpy (dir, ".");
    return 0;
  }
  n = slash == path ? 1 : (size_t) (slash - path);
  if (n >= size)
    return -ENAMETOOLONG;
  memcpy (dir, path, n);
  dir[n] = '\0';
  return 0;
}

/* Binds and listens; replaces a dead producer's socket file. */
static int
listen_locked (const char *path, int *fd)
{
  struct sockaddr_un addr;
  struct stat st;
  int s, r, probe;

  r = control_socket (path, &addr, &s);
  if (r < 0)
    return r;
  if (bind (s, (struct sockaddr *) &addr, sizeof (addr)) < 0) {
    if (errno != EADDRINUSE)
      goto failed;
    /* Someone's file: a live producer answers, a dead one's refuses.
     * The directory lock makes probe, unlink, bind and listen one step
     * for every other producer and janitor: between a rival's bind and
     * listen the probe would be refused too. */
    r = zc_channel_connect (path, &probe);
    if (r == 0) {
      close (probe);
      close (s);
      return -EADDRINUSE;
    }
    if (r != -ECONNREFUSED) {
      close (s);
      return r;
    }
    /* connect() also refuses a plain file: never unlink what is not a
     * socket, it is not ours. */
    if (lstat (path, &st) == 0 && !S_ISSOCK (st.st_mode)) {
      close (s);
      return -EADDRINUSE;
    }
    if (unlink (path) < 0 && errno != ENOENT)
      goto failed;
    if (bind (s, (struct sockaddr *) &addr, sizeof (addr)) < 0)
      goto failed;
  }
  if (listen (s, 64) < 0)
    goto failed;
  *fd = s;
  return 0;

failed:
  r = -errno;
  close (s);
  return r;
}

int
zc_channel_listen (const char *path, int *fd)
{
  char dir[ZC_SOCKET_PATH_MAX + 1];
  int lock, r;

  if (path == NULL || fd == NULL)
    return -EINVAL;
  if (strlen (path) > ZC_SOCKET_PATH_MAX)
    return -ENAMETOOLONG;
  r = zc_endpoint_parent_dir (path, dir, sizeof (dir));
  if (r < 0)
    return r;
  lock = zc_endpoint_lock_dir (dir);
  if (lock < 0)
    return lock;
  r = listen_locked (path, fd);
  close (lock);                 /* drops the flock */
  return r;
}
