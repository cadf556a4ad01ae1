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
 * POST /push of LEN bytes on a connection of its own, and the time from
 * just before the POST until each subscriber has a whole frame more. It
 * prints each round's p50, p99 and max in milliseconds, and whether every
 * subscriber had it within 10 s.
 *
 *   cc -O2 -o push_probe push_probe.c
 *   taskset -c 1 ./push_probe 19201 19000 10 256
 *
 * Run by bench/fanout_direct.sh.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int connect_to(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f000001);
  a.sin_port = htons(port);
  if (s < 0 || connect(s, (void *)&a, sizeof a) < 0) {
    perror("connect");
    exit(1);
  }
  return s;
}

/* Per subscriber: bytes of the frame being read, and frames completed. */
struct sub {
  unsigned char head[10];
  int head_len;
  long long payload_left; /* -1: reading the head */
  int frames;
  double at; /* when this round's frame completed */
};

/* Feeds `n` bytes read from a subscriber: counts whole frames. */
static void feed(struct sub *s, const unsigned char *p, long n, double t) {
  while (n > 0) {
    if (s->payload_left < 0) {
      s->head[s->head_len++] = *p++;
      n--;
      if (s->head_len < 2) continue;
      int len7 = s->head[1] & 0x7f;
      int need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
      if (s->head_len < need) continue;
      long long len = len7;
      if (len7 == 126) len = (s->head[2] << 8) | s->head[3];
      if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) len = (len << 8) | s->head[i];
      }
      s->payload_left = len;
      s->head_len = 0;
    }
    long take = n < s->payload_left ? n : (long)s->payload_left;
    p += take;
    n -= take;
    s->payload_left -= take;
    if (s->payload_left == 0) {
      s->payload_left = -1;
      s->frames++;
      s->at = t;
    }
  }
}

/* Reads whatever arrives until `until`, counting frames. */
static void drain_until(int ep, struct epoll_event *evs, int *fd, struct sub *subs, double until) {
  static char buf[65536];
  while (now() < until) {
    int k = epoll_wait(ep, evs, 4096, 50);
    for (int j = 0; j < k; j++) {
      int i = evs[j].data.u32;
      long r;
      while ((r = read(fd[i], buf, sizeof buf)) > 0) feed(&subs[i], (unsigned char *)buf, r, now());
    }
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s PORT N ROUNDS [LEN]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]), rounds = atoi(argv[3]);
  int len = argc > 4 ? atoi(argv[4]) : 256;
  if (n < 1 || len < 1 || len > 65536) {
    fprintf(stderr, "N at least 1, LEN 1-65536\n");
    return 2;
  }
  const char *hello =
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n";
  int *fd = calloc(n, sizeof *fd);
  struct sub *subs = calloc(n, sizeof *subs);
  int ep = epoll_create1(0);
  char buf[65536];
  for (int i = 0; i < n; i++) {
    fd[i] = connect_to(port);
    if (write(fd[i], hello, strlen(hello)) < 0) { perror("write"); return 1; }
    /* The answer's head, byte by byte up to its end: what follows is frames. */
    char last[4] = {0};
    for (;;) {
      char c;
      if (read(fd[i], &c, 1) != 1) { fprintf(stderr, "handshake %d failed\n", i); return 1; }
      memmove(last, last + 1, 3);
      last[3] = c;
      if (!memcmp(last, "\r\n\r\n", 4)) break;
    }
    fcntl(fd[i], F_SETFL, O_NONBLOCK);
    subs[i].payload_left = -1;
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &e);
  }
  struct epoll_event *evs = calloc(4096, sizeof *evs);
  /* What the server sends on joining (an answer, with envelopes). */
  drain_until(ep, evs, fd, subs, now() + 1.0);
  double *lat = calloc(n, sizeof *lat);
  char *body = malloc(len);
  memset(body, 'x', len);
  for (int round = 0; round < rounds; round++) {
    int *before = calloc(n, sizeof *before);
    for (int i = 0; i < n; i++) before[i] = subs[i].frames;
    int post = connect_to(port);
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /push HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n", len);
    double t0 = now();
    if (write(post, head, hl) < 0 || write(post, body, len) < 0) { perror("post"); return 1; }
    int done = 0;
    double deadline = t0 + 10;
    while (done < n && now() < deadline) {
      int k = epoll_wait(ep, evs, 4096, 100);
      double t = now();
      for (int j = 0; j < k; j++) {
        int i = evs[j].data.u32;
        long r;
        int had = subs[i].frames;
        while ((r = read(fd[i], buf, sizeof buf)) > 0) feed(&subs[i], (unsigned char *)buf, r, t);
        if (had == before[i] && subs[i].frames > before[i]) {
          lat[done++] = (subs[i].at - t0) * 1e3;
        }
      }
    }
    close(post);
    qsort(lat, done, sizeof *lat, cmp);
    printf("round %d: %d of %d reached, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", round, done, n,
           done ? lat[done / 2] : 0, done ? lat[(int)(done * 0.99)] : 0,
           done ? lat[done - 1] : 0);
    fflush(stdout);
    free(before);
    drain_until(ep, evs, fd, subs, t0 + 1.0);
  }
  return 0;
}
