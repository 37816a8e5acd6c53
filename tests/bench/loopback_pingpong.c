/*
 * The floor under every one-call-at-a-time cell of python_bench.py: two
 * processes exchanging 40-byte messages over TCP on 127.0.0.1, one message
 * in flight, blocking sockets, TCP_NODELAY, no server and no protocol.
 * No client of any server on this machine can complete more calls per
 * second one at a time than this does round trips.
 *
 *   loopback_pingpong SECONDS   ->  prints round trips per second
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MESSAGE = 40 };

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void nodelay(int fd) {
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("setsockopt");
}

/* Reads exactly n bytes; 0 at end of stream. */
static int read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) return 0;
        got += (size_t)r;
    }
    return 1;
}

static void echo(int listener) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) die("accept");
    nodelay(fd);
    char buf[MESSAGE];
    while (read_full(fd, buf, MESSAGE))
        if (write(fd, buf, MESSAGE) != MESSAGE) die("write");
    exit(0);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 1) < 0) die("listen");
    if (getsockname(listener, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) echo(listener);
    close(listener);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    nodelay(fd);
    char buf[MESSAGE] = {0};
    double warm_end = now() + 0.5, start = 0, end = 0;
    long count = 0;
    for (;;) {
        if (write(fd, buf, MESSAGE) != MESSAGE) die("write");
        if (!read_full(fd, buf, MESSAGE)) die("read");
        double t = now();
        if (start == 0) {
            if (t >= warm_end) start = t;
        } else {
            count++;
            if (t - start >= seconds) {
                end = t;
                break;
            }
        }
    }
    close(fd);
    waitpid(child, NULL, 0);
    printf("%.0f\n", count / (end - start));
    return 0;
}
