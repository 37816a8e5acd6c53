/* bench_get.c: synchronous getData round trips, through libcorral or (built
 * with -DUSE_LIBZOOKEEPER) through Apache ZooKeeper's libzookeeper-mt.
 *   bench_get HOSTS COUNT   -> one line: "<client> <count> ops <us>/op"
 * Used by tests/bench/c_bench.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

#ifdef USE_LIBZOOKEEPER
#include <zookeeper/zookeeper.h> /* -DTHREADED: the synchronous calls */
#define CLIENT "libzookeeper-mt"

static void watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh, (void)type, (void)state, (void)path, (void)ctx;
}

static int run(const char *hosts, const char *path, int count) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *zh = zookeeper_init(hosts, watcher, 10000, NULL, NULL, 0);
    if (zh == NULL) return 1;
    for (int i = 0; i < 500 && zoo_state(zh) != ZOO_CONNECTED_STATE; i++) usleep(10000);
    int rc = zoo_create(zh, path, "0123456789", 10, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    if (rc != ZOK && rc != ZNODEEXISTS) return 1;
    char buf[64];
    double t0 = now_us();
    for (int i = 0; i < count; i++) {
        int len = sizeof buf;
        if (zoo_get(zh, path, 0, buf, &len, NULL) != ZOK) return 1;
    }
    double t1 = now_us();
    zoo_delete(zh, path, -1);
    zookeeper_close(zh);
    printf("%-16s %d ops %.1f us/op\n", CLIENT, count, (t1 - t0) / count);
    return 0;
}
#else
#include "corral.h"
#define CLIENT "libcorral"

static int run(const char *hosts, const char *path, int count) {
    corral_client *c = NULL;
    if (corral_client_connect(hosts, 10000, &c) != CORRAL_OK) return 1;
    corral_result rc = corral_create(c, path, (const uint8_t *)"0123456789", 10, 0, NULL, 0);
    if (rc != CORRAL_OK && rc != CORRAL_ZNODEEXISTS) return 1;
    double t0 = now_us();
    for (int i = 0; i < count; i++) {
        corral_bytes b;
        if (corral_get(c, path, false, &b, NULL) != CORRAL_OK) return 1;
        corral_bytes_free(&b);
    }
    double t1 = now_us();
    corral_delete(c, path, -1);
    corral_client_free(c);
    printf("%-16s %d ops %.1f us/op\n", CLIENT, count, (t1 - t0) / count);
    return 0;
}
#endif

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOSTS COUNT\n", argv[0]);
        return 2;
    }
    char path[64];
    snprintf(path, sizeof path, "/bench-get-%d", (int)getpid());
    if (run(argv[1], path, atoi(argv[2])) != 0) {
        fprintf(stderr, "%s: failed\n", CLIENT);
        return 1;
    }
    return 0;
}
