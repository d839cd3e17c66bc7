/*
 * wasmesh-listen: creates the sidecar's listening sockets and hands them to the proxy by
 * systemd's socket-activation protocol (sd_listen_fds(3)), so that Node, which cannot set
 * IP_TRANSPARENT, can accept TPROXY-captured connections whose local address is the original
 * destination (docs/original-destination.md).
 *
 *   wasmesh-listen [--transparent] --listen NAME=ADDR:PORT ... [--user UID[:GID]] -- CMD ARGS...
 *
 * Each --listen makes one TCP socket, IPv4 for ADDR:PORT and IPv6 for [ADDR]:PORT (SO_REUSEADDR;
 * IP_TRANSPARENT or IPV6_TRANSPARENT with --transparent, which needs CAP_NET_ADMIN; [::] takes
 * IPv4 too, as IPv4-mapped addresses, IPV6_V6ONLY off as Node's own `::` listeners), bound and
 * listening, placed on descriptors 3, 4, ... in the order
 * given; LISTEN_FDS, LISTEN_PID (this process's pid: it execs CMD in place) and LISTEN_FDNAMES
 * (the names, colon-separated) are set; with --user the process then drops to that uid and gid
 * (no supplementary groups, no capabilities kept) before exec, so the proxy holds the sockets
 * but no privilege. Exit codes: 2 usage error, 1 a system call failed, 127 CMD not executable.
 * Errors go to stderr as `wasmesh-listen: error[CODE]: message`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif

/* The first descriptor of the protocol (SD_LISTEN_FDS_START). */
#define FIRST_FD 3
#define MAX_LISTEN 16
/* Envoy's listeners leave the backlog to net.core.somaxconn; listen(2) caps it there. */
#define BACKLOG 65535

static void usage_error(const char *code, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "wasmesh-listen: error[%s]: ", code);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nusage: wasmesh-listen [--transparent] --listen NAME=ADDR:PORT ... [--user UID[:GID]] -- CMD ARGS...\n");
  exit(2);
}

static void sys_error(const char *code, const char *fmt, ...) {
  int err = errno;
  va_list ap;
  fprintf(stderr, "wasmesh-listen: error[%s]: ", code);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, ": %s\n", strerror(err));
  exit(1);
}

struct listen_spec {
  const char *name;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int family;
  const char *text;
};

/* A name as LISTEN_FDNAMES allows: 1..255 characters, none of them ':' or control characters. */
static int valid_name(const char *s, size_t n) {
  if (n == 0 || n > 255) return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == ':' || (unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
  return 1;
}

/* Parses a decimal number in [min, max]; -1 when it is not one. */
static long parse_number(const char *s, long min, long max) {
  if (*s == '\0') return -1;
  long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
    if (v > max) return -1;
  }
  return v < min ? -1 : v;
}

static void parse_listen(const char *arg, struct listen_spec *out) {
  const char *eq = strchr(arg, '=');
  if (eq == NULL) usage_error("LISTEN_BAD_SPEC", "--listen '%s': expected NAME=ADDR:PORT (e.g. outbound=0.0.0.0:15001)", arg);
  size_t name_len = (size_t)(eq - arg);
  if (!valid_name(arg, name_len)) usage_error("LISTEN_BAD_NAME", "--listen '%s': the name must be 1..255 visible characters without ':'", arg);
  const char *hostport = eq + 1;
  /* [v6]:port, or v4:port; the host part is copied without the brackets. */
  int v6 = hostport[0] == '[';
  const char *host_start = v6 ? hostport + 1 : hostport;
  const char *close = v6 ? strchr(hostport, ']') : NULL;
  if (v6 && (close == NULL || close[1] != ':')) usage_error("LISTEN_BAD_SPEC", "--listen '%s': expected NAME=[IPV6]:PORT (e.g. outbound=[::]:15001)", arg);
  const char *colon = v6 ? close + 1 : strrchr(hostport, ':');
  if (colon == NULL) usage_error("LISTEN_BAD_SPEC", "--listen '%s': expected NAME=ADDR:PORT (e.g. outbound=0.0.0.0:15001 or outbound=[::]:15001)", arg);
  const char *host_end = v6 ? close : colon;
  char host[64];
  size_t host_len = (size_t)(host_end - host_start);
  if (host_len == 0 || host_len >= sizeof host)
    usage_error("LISTEN_BAD_ADDRESS", "--listen '%s': '%.*s' is not an %s address", arg, (int)host_len, host_start, v6 ? "IPv6" : "IPv4");
  memcpy(host, host_start, host_len);
  host[host_len] = '\0';
  if (!v6 && strchr(host, ':') != NULL) usage_error("LISTEN_BAD_ADDRESS", "--listen '%s': write an IPv6 address in brackets, [%s]:PORT", arg, host);
  long port = parse_number(colon + 1, 0, 65535);
  if (port < 0) usage_error("LISTEN_BAD_PORT", "--listen '%s': '%s' is not a port (0..65535)", arg, colon + 1);
  memset(&out->addr, 0, sizeof out->addr);
  if (v6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) usage_error("LISTEN_BAD_ADDRESS", "--listen '%s': '%s' is not an IPv6 address", arg, host);
    out->addr_len = sizeof *a;
    out->family = AF_INET6;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&out->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) usage_error("LISTEN_BAD_ADDRESS", "--listen '%s': '%s' is not an IPv4 address", arg, host);
    out->addr_len = sizeof *a;
    out->family = AF_INET;
  }
  char *name = strndup(arg, name_len);
  if (name == NULL) sys_error("LISTEN_NO_MEMORY", "strndup");
  out->name = name;
  out->text = hostport;
}

int main(int argc, char **argv) {
  struct listen_spec specs[MAX_LISTEN];
  int count = 0;
  int transparent = 0;
  long uid = -1, gid = -1;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--transparent") == 0) {
      transparent = 1;
    } else if (strcmp(a, "--listen") == 0) {
      if (i + 1 >= argc) usage_error("LISTEN_MISSING_VALUE", "--listen needs NAME=ADDR:PORT");
      if (count == MAX_LISTEN) usage_error("LISTEN_TOO_MANY", "at most %d --listen sockets", MAX_LISTEN);
      parse_listen(argv[++i], &specs[count]);
      for (int k = 0; k < count; k++)
        if (strcmp(specs[k].name, specs[count].name) == 0) usage_error("LISTEN_DUPLICATE_NAME", "--listen name '%s' is given twice", specs[count].name);
      count++;
    } else if (strcmp(a, "--user") == 0) {
      if (i + 1 >= argc) usage_error("LISTEN_MISSING_VALUE", "--user needs UID[:GID]");
      const char *v = argv[++i];
      char buf[32];
      if (strlen(v) >= sizeof buf) usage_error("LISTEN_BAD_USER", "--user '%s': expected a numeric UID or UID:GID", v);
      strcpy(buf, v);
      char *c = strchr(buf, ':');
      if (c != NULL) *c = '\0';
      uid = parse_number(buf, 0, 2147483646L);
      gid = c == NULL ? uid : parse_number(c + 1, 0, 2147483646L);
      if (uid < 0 || gid < 0) usage_error("LISTEN_BAD_USER", "--user '%s': expected a numeric UID or UID:GID", v);
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      printf("usage: wasmesh-listen [--transparent] --listen NAME=ADDR:PORT ... [--user UID[:GID]] -- CMD ARGS...\n"
             "Creates listening TCP sockets on fds 3.. and execs CMD with LISTEN_FDS, LISTEN_PID and\n"
             "LISTEN_FDNAMES set (systemd socket activation). --transparent sets IP_TRANSPARENT (TPROXY;\n"
             "needs CAP_NET_ADMIN); --user drops to that uid (and gid) before exec.\n");
      return 0;
    } else {
      usage_error("LISTEN_UNKNOWN_FLAG", "unknown argument '%s' (the command follows '--')", a);
    }
  }
  if (count == 0) usage_error("LISTEN_NONE", "at least one --listen NAME=ADDR:PORT is required");
  if (i >= argc) usage_error("LISTEN_NO_COMMAND", "no command after '--'");

  /*
   * With --user, the sockets are made under that filesystem uid/gid (capabilities kept: euid is
   * still 0), so their files belong to the proxy: iptables' `-m owner --uid-owner 1337` then
   * exempts what the kernel sends for a listener before accept() (a TPROXY SYN-ACK), as it does
   * for Envoy's own sockets in Istio.
   */
  if (uid >= 0) {
    setfsgid((gid_t)gid);
    setfsuid((uid_t)uid);
  }
  /* Sockets first, wherever the kernel puts them; then moved onto 3.. in order. */
  int fds[MAX_LISTEN];
  for (int k = 0; k < count; k++) {
    int v6 = specs[k].family == AF_INET6;
    int fd = socket(specs[k].family, SOCK_STREAM, 0);
    if (fd < 0) sys_error("LISTEN_SOCKET_FAILED", "socket() for %s (%s)", specs[k].name, v6 ? "IPv6" : "IPv4");
    int one = 1, zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) sys_error("LISTEN_SOCKOPT_FAILED", "SO_REUSEADDR on %s", specs[k].name);
    /* [::] takes IPv4 as well (mapped), whatever net.ipv6.bindv6only says: one socket per name. */
    if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) sys_error("LISTEN_SOCKOPT_FAILED", "IPV6_V6ONLY off on %s", specs[k].name);
    if (transparent && !v6 && setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) < 0)
      sys_error("LISTEN_TRANSPARENT_FAILED", "IP_TRANSPARENT on %s (needs CAP_NET_ADMIN)", specs[k].name);
    if (transparent && v6 && setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one) < 0)
      sys_error("LISTEN_TRANSPARENT_FAILED", "IPV6_TRANSPARENT on %s (needs CAP_NET_ADMIN)", specs[k].name);
    if (bind(fd, (struct sockaddr *)&specs[k].addr, specs[k].addr_len) < 0) sys_error("LISTEN_BIND_FAILED", "cannot bind %s to %s", specs[k].name, specs[k].text);
    if (listen(fd, BACKLOG) < 0) sys_error("LISTEN_LISTEN_FAILED", "listen() on %s (%s)", specs[k].name, specs[k].text);
    fds[k] = fd;
  }
  /* Above every target first, so that moving one onto 3+k never closes another still to move. */
  int high = FIRST_FD + count + 16;
  for (int k = 0; k < count; k++) {
    int moved = fcntl(fds[k], F_DUPFD, high);
    if (moved < 0) sys_error("LISTEN_DUP_FAILED", "fcntl(F_DUPFD) for %s", specs[k].name);
    close(fds[k]);
    fds[k] = moved;
  }
  for (int k = 0; k < count; k++) {
    if (dup2(fds[k], FIRST_FD + k) < 0) sys_error("LISTEN_DUP_FAILED", "dup2 to %d for %s", FIRST_FD + k, specs[k].name);
    close(fds[k]);
    /* dup2 clears FD_CLOEXEC: the descriptor survives exec. */
  }

  char value[32];
  snprintf(value, sizeof value, "%d", count);
  if (setenv("LISTEN_FDS", value, 1) < 0) sys_error("LISTEN_ENV_FAILED", "setenv LISTEN_FDS");
  snprintf(value, sizeof value, "%ld", (long)getpid());
  if (setenv("LISTEN_PID", value, 1) < 0) sys_error("LISTEN_ENV_FAILED", "setenv LISTEN_PID");
  size_t names_len = 0;
  for (int k = 0; k < count; k++) names_len += strlen(specs[k].name) + 1;
  char *names = malloc(names_len + 1);
  if (names == NULL) sys_error("LISTEN_NO_MEMORY", "malloc");
  names[0] = '\0';
  for (int k = 0; k < count; k++) {
    if (k > 0) strcat(names, ":");
    strcat(names, specs[k].name);
  }
  if (setenv("LISTEN_FDNAMES", names, 1) < 0) sys_error("LISTEN_ENV_FAILED", "setenv LISTEN_FDNAMES");

  if (uid >= 0) {
    /* Groups, then gid, then uid: after setuid the others could no longer be changed. */
    if (setgroups(0, NULL) < 0) sys_error("LISTEN_SETGROUPS_FAILED", "setgroups()");
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0) sys_error("LISTEN_SETGID_FAILED", "setresgid(%ld)", gid);
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) sys_error("LISTEN_SETUID_FAILED", "setresuid(%ld)", uid);
  }
  execvp(argv[i], &argv[i]);
  int err = errno;
  fprintf(stderr, "wasmesh-listen: error[LISTEN_EXEC_FAILED]: cannot run '%s': %s\n", argv[i], strerror(err));
  return 127;
}
