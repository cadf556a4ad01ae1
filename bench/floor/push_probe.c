/*
 * A push to many idle WebSocket subscribers, timed by a reader that costs
 * the kernel's receive and little more (epoll and read, no runtime, no
 * WebSocket library): how long the server takes to reach the last of
 * them when the subscribers' side is not what holds it back. It shares no
 * code with switchyard.
 *
 * It opens N WebSockets to ws://127.0.0.1:PORT/ws (a fixed handshake; the
 * answer is read to its end and not checked further), reads what the
 * server sends on joining, then ROUNDS times, a second apart: one
 * POST /push of LEN bytes on a connection of its own, whose body starts
 * with "@" and the time of the POST (CLOCK_MONOTONIC, in ns, which every
 * process on the machine shares), and the time from that stamp until each
 * subscriber has the whole frame that carries it. It prints each round's
 * p50, p99 and max in milliseconds over the subscribers that read at full
 * speed, and how many had it within the wait.
 *
 *   cc -O2 -o push_probe push_probe.c
 *   taskset -c 1 ./push_probe 19201 19000 10 256
 *
 * Several processes can share one run, each holding up to its limit on
 * open files (bench/many_connections.sh, e.g. five servers sharing their
 * topics through Redis):
 *   -f          follow: post nothing; print "ready" once joined, then take
 *               ROUNDS stamped pushes, posted by someone else
 *   N = 0       post only: ROUNDS pushes a second apart, no subscribers
 *   -b ADDR     subscribe from this local address (127.0.0.x: each
 *               source address has its own ephemeral ports)
 *   -s FRACTION that share of the subscribers reads slowly: 256 bytes
 *               every 5 s, not through epoll
 *   -o FILE     every delivery's "round slow ms" (slow 0 or 1), to merge
 *               the processes' percentiles
 *   -w SECONDS  how long to wait for the rounds after "ready" (default
 *               ROUNDS x INTERVAL + 60; it also stops 10 s after the
 *               last delivery once one has arrived)
 *   -i INTERVAL seconds between pushes (default 1): a push to everyone
 *               that takes the machine longer than this piles up behind
 *               the next; -i 0.001 with thousands of ROUNDS is a busy
 *               topic (each round's own line is left out over 100 rounds;
 *               the summary of all rounds after the first is printed)
 *
 * The reader answers the server's pings (heartbeat) with pongs, so it can
 * hold its subscribers for minutes; it does not check frames further.
 * Run by bench/fanout_direct.sh and bench/many_connections.sh.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

static const char *source;

static int connect_to(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) {
    perror("socket");
    exit(1);
  }
  if (source) {
    /* The port is chosen at connect, per destination, not here. */
    int one = 1;
    setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in b = {0};
    b.sin_family = AF_INET;
    if (inet_pton(AF_INET, source, &b.sin_addr) != 1 || bind(s, (void *)&b, sizeof b) < 0) {
      perror("bind");
      exit(1);
    }
  }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f000001);
  a.sin_port = htons(port);
  if (connect(s, (void *)&a, sizeof a) < 0) {
    perror("connect");
    exit(1);
  }
  return s;
}

/* Per subscriber: the frame being read, its stamp, a ping to answer. */
struct sub {
  int fd;
  unsigned char head[10];
  int head_len;
  int opcode;
  long long payload_left; /* -1: reading the head */
  int stamp_state; /* 0: looking for '@', 1: in the time's digits, 2: in the round's */
  int digits;
  long long stamp, round;
  unsigned char ping[125];
  int ping_len;
  int stamped; /* rounds received */
  int scanned; /* bytes of this frame's payload looked at */
  char slow, closed;
};

/* How far into a payload a stamp is looked for: it starts the body, which
   an envelope puts after its topic and offset. */
#define SCAN_MOST 192

static int rounds, n;
static int complete; /* subscribers at full speed that have every round */
static double *lat; /* [round * n + i], ms; negative: not yet */
static FILE *out;
static double last_delivery;

static void pong(struct sub *s) {
  unsigned char f[6 + 125] = {0x8a, (unsigned char)(0x80 | s->ping_len), 0, 0, 0, 0};
  memcpy(f + 6, s->ping, s->ping_len); /* masked with a zero key: as is */
  /* A short write would break the stream: treat it as a failure. */
  if (write(s->fd, f, 6 + s->ping_len) != 6 + s->ping_len) s->closed = 1;
}

/* The stamp a poster puts at the start of a body: "@" NS ":" ROUND " ".
   Anything else resets the search, so other bytes cannot fake one. */
static void scan(struct sub *s, unsigned char c) {
  int digit = c >= '0' && c <= '9';
  if (s->stamp_state == 1 && digit && s->digits < 19) {
    s->stamp = s->stamp * 10 + (c - '0');
    s->digits++;
  } else if (s->stamp_state == 1 && c == ':' && s->digits > 0) {
    s->stamp_state = 2;
    s->digits = 0;
    s->round = 0;
  } else if (s->stamp_state == 2 && digit && s->digits < 9) {
    s->round = s->round * 10 + (c - '0');
    s->digits++;
  } else if (s->stamp_state == 2 && c == ' ' && s->digits > 0) {
    s->stamp_state = 3;
  } else if (s->stamp_state != 3) {
    s->stamp_state = c == '@';
    s->digits = 0;
    s->stamp = 0;
  }
}

/* Feeds `len` bytes read from subscriber `i` at time `t`. */
static void feed(struct sub *subs, int i, const unsigned char *p, long len, double t) {
  struct sub *s = &subs[i];
  while (len > 0) {
    if (s->payload_left < 0) {
      s->head[s->head_len++] = *p++;
      len--;
      if (s->head_len < 2) continue;
      int len7 = s->head[1] & 0x7f;
      int need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
      if (s->head_len < need) continue;
      long long size = len7;
      if (len7 == 126) size = (s->head[2] << 8) | s->head[3];
      if (len7 == 127) {
        size = 0;
        for (int k = 2; k < 10; k++) size = (size << 8) | s->head[k];
      }
      s->opcode = s->head[0] & 0x0f;
      s->payload_left = size;
      s->scanned = 0;
      s->head_len = 0;
      s->ping_len = 0;
    }
    long take = len < s->payload_left ? len : (long)s->payload_left;
    if (s->opcode == 9) {
      for (long k = 0; k < take && s->ping_len < 125; k++) s->ping[s->ping_len++] = p[k];
    } else if (s->opcode <= 2) {
      long k = 0;
      while (k < take && s->stamp_state != 3 && s->scanned < SCAN_MOST) {
        if (s->stamp_state == 0) { /* straight to the next '@' */
          long most = take - k < SCAN_MOST - s->scanned ? take - k : SCAN_MOST - s->scanned;
          const unsigned char *at = memchr(p + k, '@', most);
          long skip = at ? at - (p + k) : most;
          k += skip;
          s->scanned += skip;
          if (!at) break;
        }
        scan(s, p[k]);
        k++;
        s->scanned++;
      }
    }
    p += take;
    len -= take;
    s->payload_left -= take;
    if (s->payload_left == 0) {
      s->payload_left = -1;
      if (s->opcode == 9) {
        pong(s);
      } else if (s->stamp_state == 3 && s->round < rounds && lat[s->round * n + i] < 0) {
        double ms = (t - s->stamp / 1e9) * 1e3;
        lat[s->round * n + i] = ms;
        if (out) fprintf(out, "%lld %d %.3f\n", s->round, s->slow, ms);
        if (++s->stamped == rounds && !s->slow) complete++;
        if (!s->slow) last_delivery = t;
      }
      s->stamp_state = 0;
      s->digits = 0;
      s->stamp = 0;
    }
  }
}

static void read_from(struct sub *subs, int i, long most) {
  static unsigned char buf[65536];
  struct sub *s = &subs[i];
  long r = -1;
  if (s->fd < 0) return;
  while (!s->closed && most > 0 &&
         (r = read(s->fd, buf, most < (long)sizeof buf ? most : (long)sizeof buf)) != 0) {
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) s->closed = 1;
      break;
    }
    /* Timed as each read returns: a batch of events takes milliseconds
       to read, and a later push can arrive within it. */
    feed(subs, i, buf, r, now());
    most -= r;
    /* Level-triggered: a short read took all there was for now. */
    if (r < (long)sizeof buf) break;
  }
  if (r == 0) s->closed = 1;
  if (s->closed) {
    close(s->fd);
    s->fd = -1;
  }
}

/* Reads what has come for the first `open` subscribers, waiting up to
   `ms` for it: those at full speed through epoll, the slow ones 256 bytes
   each every 5 s. */
static void service(int ep, struct epoll_event *evs, struct sub *subs, int open, int ms,
                    double *next_slow) {
  int k = epoll_wait(ep, evs, 4096, ms);
  for (int j = 0; j < k; j++) read_from(subs, evs[j].data.u32, 1L << 40);
  double t = now();
  if (t >= *next_slow) {
    for (int i = 0; i < open; i++)
      if (subs[i].slow) read_from(subs, i, 256);
    *next_slow = t + 5;
  }
}

static void post(int port, int round, int len) {
  char *body = malloc(len + 48);
  int at = snprintf(body, 48, "@%lld:%d ", (long long)(now() * 1e9), round);
  if (at < len) memset(body + at, 'x', len - at);
  if (at > len) len = at;
  int s = connect_to(port);
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "POST /push HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "Content-Length: %d\r\n\r\n",
                    len);
  if (write(s, head, hl) < 0 || write(s, body, len) < 0) {
    perror("post");
    exit(1);
  }
  /* Not waited for: the answer comes after the pushes are queued. */
  free(body);
  close(s);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int follow = 0, opt;
  double slow_fraction = 0, wait = -1, interval = 1;
  while ((opt = getopt(argc, argv, "fb:s:o:w:i:")) != -1) {
    switch (opt) {
    case 'f': follow = 1; break;
    case 'b': source = optarg; break;
    case 's': slow_fraction = atof(optarg); break;
    case 'o':
      out = fopen(optarg, "w");
      if (!out) { perror(optarg); return 1; }
      break;
    case 'w': wait = atof(optarg); break;
    case 'i': interval = atof(optarg); break;
    default: return 2;
    }
  }
  if (argc - optind < 3) {
    fprintf(stderr, "usage: %s [-f] [-b ADDR] [-s FRACTION] [-o FILE] [-w SECONDS] [-i INTERVAL] PORT N ROUNDS [LEN]\n",
            argv[0]);
    return 2;
  }
  int port = atoi(argv[optind]);
  n = atoi(argv[optind + 1]);
  rounds = atoi(argv[optind + 2]);
  int len = argc - optind > 3 ? atoi(argv[optind + 3]) : 256;
  if (n < 0 || rounds < 1 || len < 1 || len > 65536 || (follow && n == 0)) {
    fprintf(stderr, "N at least 0 (1 to follow), ROUNDS at least 1, LEN 1-65536\n");
    return 2;
  }
  if (wait < 0) wait = rounds * interval + 60;
  if (n == 0) { /* post only */
    for (int r = 0; r < rounds; r++) {
      double t = now();
      post(port, r, len);
      while (now() < t + interval) usleep(1000);
    }
    return 0;
  }
  const char *hello =
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n";
  struct sub *subs = calloc(n, sizeof *subs);
  lat = malloc((size_t)n * rounds * sizeof *lat);
  for (long k = 0; k < (long)n * rounds; k++) lat[k] = -1;
  int ep = epoll_create1(0);
  struct epoll_event *evs = calloc(4096, sizeof *evs);
  int slow = 0;
  double next_slow = now() + 5;
  for (int i = 0; i < n; i++) {
    /* Those already open keep being read (and answer their pings) while
       the rest connect, which can take a minute. */
    if (i % 256 == 0) service(ep, evs, subs, i, 0, &next_slow);
    struct sub *s = &subs[i];
    s->fd = connect_to(port);
    if (write(s->fd, hello, strlen(hello)) < 0) { perror("write"); return 1; }
    /* The answer's head, byte by byte up to its end: what follows is frames. */
    char last[4] = {0};
    for (;;) {
      char c;
      if (read(s->fd, &c, 1) != 1) { fprintf(stderr, "handshake %d failed\n", i); return 1; }
      memmove(last, last + 1, 3);
      last[3] = c;
      if (!memcmp(last, "\r\n\r\n", 4)) break;
    }
    fcntl(s->fd, F_SETFL, O_NONBLOCK);
    s->payload_left = -1;
    /* Every 1/fraction-th subscriber is slow: spread over the run. */
    s->slow = slow_fraction > 0 && (int)((i + 1) * slow_fraction) > (int)(i * slow_fraction);
    slow += s->slow;
    if (!s->slow) {
      struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};
      epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e);
    }
  }
  int fast = n - slow;
  /* What the server sends on joining (an answer, with envelopes). */
  double ready = now() + 1.0;
  while (now() < ready) service(ep, evs, subs, n, 50, &next_slow);
  struct rusage u0;
  getrusage(RUSAGE_SELF, &u0);
  double user0 = seconds(u0.ru_utime), system0 = seconds(u0.ru_stime);
  if (follow) {
    printf("ready\n");
    fflush(stdout);
  }
  int next_post = 0;
  double deadline = now() + wait;
  last_delivery = 0;
  for (;;) {
    double t = now();
    if (!follow && next_post < rounds && t >= ready + next_post * interval) {
      post(port, next_post, len);
      next_post++;
    }
    if (complete == fast && (follow || next_post == rounds)) break;
    if (t > deadline || (last_delivery > 0 && t > last_delivery + 10)) break;
    /* Up to 20 ms, or until the next push is due. */
    int ms = 20;
    if (!follow && next_post < rounds) {
      double due = ready + next_post * interval - t;
      if (due * 1e3 < ms) ms = due > 0 ? (int)(due * 1e3) : 0;
    }
    service(ep, evs, subs, n, ms, &next_slow);
  }
  /* Every delivery at full speed, over all rounds after the first (a
     busy topic's run: -i 0.001 and thousands of rounds). */
  double *all = malloc((size_t)n * rounds * sizeof *all);
  long got = 0;
  for (int r = 1; r < rounds; r++)
    for (int i = 0; i < n; i++)
      if (!subs[i].slow && lat[(long)r * n + i] >= 0) all[got++] = lat[(long)r * n + i];
  qsort(all, got, sizeof *all, cmp);
  if (got)
    printf("all after the first: %ld of %ld reached, p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms\n",
           got, (long)fast * (rounds - 1), all[got / 2], all[(long)(got * 0.99)],
           all[(long)(got * 0.999)], all[got - 1]);
  free(all);
  double *v = malloc(n * sizeof *v);
  for (int r = 0; r < rounds && rounds <= 100; r++) {
    int done = 0;
    for (int i = 0; i < n; i++)
      if (!subs[i].slow && lat[(long)r * n + i] >= 0) v[done++] = lat[(long)r * n + i];
    qsort(v, done, sizeof *v, cmp);
    printf("round %d: %d of %d reached, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r, done, fast,
           done ? v[done / 2] : 0, done ? v[(int)(done * 0.99)] : 0, done ? v[done - 1] : 0);
  }
  int closed_fast = 0, closed_slow = 0;
  long slow_read = 0;
  for (int i = 0; i < n; i++) {
    closed_fast += subs[i].closed && !subs[i].slow;
    closed_slow += subs[i].closed && subs[i].slow;
    if (subs[i].slow) slow_read += subs[i].stamped;
  }
  printf("closed by the server: %d of %d at full speed", closed_fast, fast);
  if (slow) printf(", %d of %d slow (which read %ld pushes)", closed_slow, slow, slow_read);
  printf("\n");
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  printf("cpu after ready: user %.2f s, system %.2f s\n", seconds(u.ru_utime) - user0,
         seconds(u.ru_stime) - system0);
  if (out) fclose(out);
  if (follow) {
    /* Held open until killed: the script reads the servers' CPU and
       memory first, without the close of every connection in it. */
    printf("done\n");
    fflush(stdout);
    for (;;) pause();
  }
  return 0;
}
